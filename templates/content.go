package templates

import "slices"

// referenceRows are the ports every visitor should know, with a short note
// each. The notes agree with internal/ports' catalog (a test checks the ports
// and services); the catalog's full notes are linked from each row.
var referenceRows = []RefRow{
	{21, "TCP", "FTP", "Logins and files cross the network unencrypted. Move transfers to SFTP, which runs over SSH on port 22."},
	{22, "TCP", "SSH", "Allow it only from addresses you trust, accept keys rather than passwords, and turn off root login."},
	{25, "TCP", "SMTP", "Belongs on dedicated mail servers only. Anywhere else it suggests a misconfiguration that spammers can relay through."},
	{53, "TCP/UDP", "DNS", "Only on authoritative name servers or resolvers you run on purpose; answer recursive queries for your own clients only."},
	{80, "TCP", "HTTP", "Fine when all it does is redirect to HTTPS. Do not serve pages or logins over plain HTTP."},
	{443, "TCP", "HTTPS", "The normal public web port. Keep the certificate valid and the TLS versions and ciphers current."},
	{3306, "TCP", "MySQL", "Never public. Reach the database through a VPN or an SSH tunnel instead."},
	{3389, "TCP", "RDP", "Dangerous when public: a favourite brute-force target. Allow only specific addresses or put it behind a VPN gateway."},
	{5432, "TCP", "PostgreSQL", "Never public. Listen on localhost or a private network and connect through a VPN."},
	{8080, "TCP", "HTTP-Alt", "Usually a development server, proxy or admin panel. Close it unless you meant to publish it."},
	{27017, "TCP", "MongoDB", "Older releases listened to everyone without a password, and exposed databases were wiped for ransom. Firewall it and turn on authentication."},
}

// ReferenceRows returns the landing page's reference table, sorted by port.
func ReferenceRows() []RefRow { return slices.Clone(referenceRows) }

// faq answers the brief's questions as they are true of Vantage.
var faq = []FAQItem{
	{
		ID:       "faq-legal",
		Question: "Is port scanning legal?",
		Answer: []string{
			"Scanning servers, domains and addresses that you own or run is legal and an everyday part of looking after them. Scanning somebody else's systems without their permission is different: it can break computer-misuse laws such as the US Computer Fraud and Abuse Act and its counterparts in other countries. If a host is not yours, get written permission from its owner first.",
			"That is why Vantage asks you to tick \"I own this host or am authorised to scan it\" before it scans anything other than the address you are visiting from. Every scan is logged with the address that asked for it, and Vantage refuses private, loopback, link-local and cloud-metadata addresses, so it cannot be pointed at anyone's internal network.",
		},
	},
	{
		ID:       "faq-ssh-open",
		Question: "Why does my server show port 22 open even with a firewall?",
		Answer: []string{
			"A firewall blocks only what its rules tell it to block. If the rule for SSH allows any source address (0.0.0.0/0 in many cloud security groups), Vantage's server is simply one more allowed source, and port 22 shows as open.",
			"Narrow the rule to the addresses that really need SSH, such as your office, your VPN or a bastion host, then scan again: port 22 should now show as filtered. Whatever the firewall says, keep key-based logins and leave root login disabled.",
		},
	},
	{
		ID:       "faq-filtered",
		Question: "What does \"filtered\" mean in port scanning?",
		Answer: []string{
			"Vantage reports a port as filtered when its connection attempts get no answer at all, even after a retry, or when a router or firewall answers with an ICMP \"unreachable\" message instead of the host answering. The reason shown next to the port says which: no-response, host-unreach, net-unreach or admin-prohibited.",
			"For a port that should not be public, filtered is a better result than closed: a silent drop does not even confirm that a machine is there. Silence can also come from packet loss or an overloaded link, though, so if a port you expect to be open or closed shows as filtered, scan again before drawing conclusions.",
		},
	},
	{
		ID:       "faq-all-ports",
		Question: "Can I scan all 65535 ports?",
		Answer: []string{
			"TCP ports are numbered 1 to 65535. To keep the public service fair to everyone, the web form scans a port set: quick (the 20 ports most often found exposed and attacked), common (every port in Vantage's catalog, about two hundred, each with a security note; the default) or extended (ports 1 to 1023 plus the catalog). You can also type your own ports and ranges, such as 8000-8100, up to a per-scan limit.",
			"For the whole range, run Vantage yourself: it is open source, and vantage scan --ports preset:all example.com checks all 65,535 ports from the machine you run it on. Run it from outside your own network, or it will see past your firewall. Expect a full scan to take noticeably longer than a catalog scan, most of all when a firewall drops packets silently.",
		},
	},
	{
		ID:       "faq-sysadmins",
		Question: "Why is port scanning useful for system administrators?",
		Answer: []string{
			"An outside scan answers questions that configuration files cannot: does the server really expose only what the policy says, did the last firewall or security-group change take effect, is a forgotten service (a development server, a database listening on every interface) still reachable, and has something unexpected started listening? A results page with a link you can share also makes a simple piece of evidence for a security review or a compliance audit.",
			"Scanning regularly costs almost nothing and catches a surprising number of mistakes. The command-line version, vantage scan --json, fits into a scheduled job whose results you can compare from one run to the next.",
		},
	},
	{
		ID:       "faq-ipv6",
		Question: "Does Vantage scan IPv6?",
		Answer: []string{
			"Yes. Type an IPv6 address and Vantage scans it. A host name is resolved once, and its IPv4 address is scanned when it has one, otherwise its IPv6 address.",
			"Tick \"Also scan IPv6\" to scan a name's IPv4 and IPv6 addresses side by side. Dual-stack servers are often open over IPv6 where IPv4 is closed, because the firewall rules were written for one family only (iptables without ip6tables, a cloud security group without its IPv6 rules). The results mark every port that answers differently. The comparison counts as two scans.",
		},
	},
}

// FAQ returns the landing page's questions and answers, in display order.
func FAQ() []FAQItem {
	out := slices.Clone(faq)
	for i := range out {
		out[i].Answer = slices.Clone(out[i].Answer)
	}
	return out
}
