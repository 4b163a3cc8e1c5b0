package web

import (
	"strings"

	"github.com/vantagescan/vantage/internal/probe"
	"github.com/vantagescan/vantage/internal/report"
	"github.com/vantagescan/vantage/templates"
)

// findingView is a follow-up check for the results page.
func findingView(f probe.Finding) templates.FindingView {
	title, lines, problem := report.Describe(f)
	return templates.FindingView{Port: f.Port, Check: f.Check, Title: title, Lines: lines, Problem: problem, Err: f.Err}
}

// gradeFAQ explains the exposure grade from the rules themselves, so the
// page cannot drift from what the code does.
func gradeFAQ() templates.FAQItem {
	item := templates.FAQItem{
		ID:       "faq-grade",
		Question: "How is the exposure grade computed?",
		Answer: []string{
			"After the port scan, Vantage runs a few read-only checks on the open ports: a TLS handshake and certificate check, one plain HTTP request to see whether it redirects to HTTPS, an SSH hello that lists the login methods without sending any credentials, and reading the greeting of services that speak first. It then grades the host from A (best) to F.",
			report.Method,
		},
	}
	var rules []string
	for _, r := range report.Rules() {
		if r.Effect == "note" {
			continue
		}
		rules = append(rules, strings.TrimSuffix(r.Description, ".")+" ("+r.Effect+")")
	}
	item.Answer = append(item.Answer, "The rules: "+strings.Join(rules, "; ")+".")
	return item
}
