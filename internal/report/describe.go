package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vantagescan/vantage/internal/probe"
)

type description struct {
	Title   string
	Lines   []string
	Problem bool
}

// Describe puts a follow-up check into a title and sentences for people,
// and says whether it found a problem. The results page and the command
// line both show findings this way.
func Describe(f probe.Finding) (title string, lines []string, problem bool) {
	v := &description{}
	switch {
	case f.TLS != nil:
		t := f.TLS
		v.Title = "TLS"
		if slices.Contains(probe.Plan(f.Port), probe.CheckHTTP) {
			v.Lines = append(v.Lines, fmt.Sprintf("Port %d, usually plain HTTP, speaks TLS here.", f.Port))
		}
		v.Lines = append(v.Lines, fmt.Sprintf("%s with %s.", t.Version, t.CipherSuite))
		cert := "Certificate for " + t.Subject
		switch {
		case t.Subject == "" && len(t.SANs) > 0:
			cert += strings.Join(t.SANs, ", ")
		case len(t.SANs) > 0:
			cert += " (" + strings.Join(t.SANs, ", ") + ")"
		}
		cert += ", issued by " + t.Issuer + "."
		v.Lines = append(v.Lines, cert)
		switch {
		case t.Expired:
			v.Lines = append(v.Lines, fmt.Sprintf("Expired %d days ago: browsers refuse it. Renew it.", -t.DaysLeft))
			v.Problem = true
		case t.DaysLeft < 14:
			v.Lines = append(v.Lines, fmt.Sprintf("Expires in %d days: renew it now.", t.DaysLeft))
			v.Problem = true
		default:
			v.Lines = append(v.Lines, fmt.Sprintf("Valid for %d more days.", t.DaysLeft))
		}
		if t.SelfSigned {
			v.Lines = append(v.Lines, "Self-signed: visitors get a warning. Use a certificate from a public CA (e.g. Let's Encrypt).")
			v.Problem = true
		}
		if !t.ValidForName && !t.Expired && !t.SelfSigned {
			msg := "Not valid for the name scanned"
			if t.VerifyError != "" {
				msg += ": " + t.VerifyError
			}
			v.Lines = append(v.Lines, msg+".")
			v.Problem = true
		}
		if w := t.HTTPS; w != nil {
			page := fmt.Sprintf("GET / over HTTPS answers %d", w.Status)
			if w.Server != "" {
				page += " (Server: " + w.Server + ")"
			}
			v.Lines = append(v.Lines, page+".")
			switch {
			case hstsEnabled(w.HSTS):
				v.Lines = append(v.Lines, "HSTS: "+w.HSTS+".")
			case w.HSTS != "":
				v.Lines = append(v.Lines, "HSTS header “"+w.HSTS+"” does not turn HSTS on: it needs a max-age above 0.")
			default:
				v.Lines = append(v.Lines, "No HSTS header: browsers may still be sent to plain HTTP first.")
			}
		}
		if t.Accepts10 || t.Accepts11 {
			var old []string
			if t.Accepts10 {
				old = append(old, "TLS 1.0")
			}
			if t.Accepts11 {
				old = append(old, "TLS 1.1")
			}
			v.Lines = append(v.Lines, "Still accepts "+strings.Join(old, " and ")+": turn them off; only TLS 1.2 and 1.3 are safe.")
			v.Problem = true
		}
	case f.HTTP != nil:
		h := f.HTTP
		v.Title = "HTTP"
		if slices.Contains(probe.Plan(f.Port), probe.CheckTLS) {
			v.Lines = append(v.Lines, fmt.Sprintf("Port %d, usually TLS, speaks plain HTTP here: nothing on it is encrypted.", f.Port))
			v.Problem = true
		}
		if h.RedirectsToHTTPS {
			v.Lines = append(v.Lines, fmt.Sprintf("GET / answers %d and redirects to %s: good.", h.Status, h.Location))
		} else {
			v.Lines = append(v.Lines, fmt.Sprintf("GET / answers %d without redirecting to HTTPS: traffic here can be read and changed on the way.", h.Status))
			v.Problem = true
		}
		if h.Server != "" {
			v.Lines = append(v.Lines, "Server header: "+h.Server+".")
		}
		if h.HSTS != "" {
			v.Lines = append(v.Lines, "HSTS on the HTTPS side: "+h.HSTS+".")
		}
	case f.SSH != nil:
		s := f.SSH
		v.Title = "SSH"
		v.Lines = append(v.Lines, "Server: "+s.Banner+".")
		if len(s.AuthMethods) > 0 {
			v.Lines = append(v.Lines, "Offers logins by "+strings.Join(s.AuthMethods, ", ")+".")
		}
		if s.PasswordAuth {
			v.Lines = append(v.Lines, "Password logins are open to brute force: allow keys only (PasswordAuthentication no).")
			v.Problem = true
		}
	case f.Banner != nil:
		v.Title = "greeting"
		if f.Banner.Protocol != "" {
			v.Title = f.Banner.Protocol + " greeting"
		}
		v.Lines = append(v.Lines, "It says: “"+f.Banner.Line+"”")
	default:
		v.Title = f.Check
	}
	return v.Title, v.Lines, v.Problem
}
