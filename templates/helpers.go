package templates

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// formFields are the scan form's fields in page order; the error summary
// lists their messages in this order.
var formFields = []string{FieldHost, FieldPorts, FieldCustom, FieldConsent}

// summaryItem is one line of the error summary; Href is empty for messages
// that belong to no single field.
type summaryItem struct {
	Href    string
	Message string
}

// summaryItems orders form.Errors for the summary: the form-wide message
// first, then each field in page order, then any other keys (sorted) as text.
func summaryItems(form HomeForm) []summaryItem {
	var items []summaryItem
	if msg := form.Errors[FieldForm]; msg != "" {
		items = append(items, summaryItem{Message: msg})
	}
	for _, f := range formFields {
		if msg := form.Errors[f]; msg != "" {
			items = append(items, summaryItem{Href: "#" + f, Message: msg})
		}
	}
	var other []string
	for k, msg := range form.Errors {
		if msg != "" && k != FieldForm && !slices.Contains(formFields, k) {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	for _, k := range other {
		items = append(items, summaryItem{Message: form.Errors[k]})
	}
	return items
}

// hasErrors reports whether the summary has anything to show.
func hasErrors(form HomeForm) bool {
	for _, msg := range form.Errors {
		if msg != "" {
			return true
		}
	}
	return false
}

// fieldError returns the message for field, or "".
func fieldError(form HomeForm, field string) string { return form.Errors[field] }

// fieldClass is the wrapper class of a form field, marking it when invalid.
func fieldClass(form HomeForm, field, base string) string {
	if fieldError(form, field) != "" {
		return base + " has-error"
	}
	return base
}

// describedBy lists the hint and, when present, the error message of field,
// by the ids the form gives them ("host-hint host-error").
func describedBy(form HomeForm, field string) string {
	ids := field + "-hint"
	if fieldError(form, field) != "" {
		ids += " " + field + "-error"
	}
	return ids
}

// selectedPreset is the preset value to mark selected.
func selectedPreset(form HomeForm) string {
	if form.Ports == "" {
		return DefaultPreset
	}
	return form.Ports
}

// presetLabel reads "Common: 207 ports" (or just the label without a count).
func presetLabel(opt PresetOption) string {
	label := opt.Label
	if label == "" {
		label = opt.Value
	}
	switch {
	case opt.Count == 1:
		return label + ": 1 port"
	case opt.Count > 1:
		return label + ": " + formatCount(opt.Count) + " ports"
	}
	return label
}

// customHint explains the custom-ports field, with the cap when known.
func customHint(form HomeForm) string {
	hint := "Ports and ranges separated by commas. When filled in, these are scanned instead of the port set."
	if form.MaxCustomPorts > 0 {
		hint += " Up to " + formatCount(form.MaxCustomPorts) + " ports."
	}
	return hint
}

// scanSelfLabel is the text of the "Scan my IP" button.
func scanSelfLabel(form HomeForm) string {
	if form.VisitorIP == "" {
		return "Scan my IP"
	}
	return "Scan my IP (" + form.VisitorIP + ")"
}

// formatCount writes n with thousands separators: 65535 → "65,535".
func formatCount(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// portString formats a port number.
func portString(p uint16) string { return strconv.Itoa(int(p)) }

// portAnchor is the fragment id of a port's row on the catalog page.
func portAnchor(p uint16) string { return "p-" + portString(p) }

// portHref links a port to its catalog entry.
func portHref(p uint16) string { return "/ports#" + portAnchor(p) }

// knownStates and knownRisks bound the class names badges may produce.
var (
	knownStates = []string{"open", "closed", "filtered"}
	knownRisks  = []string{"info", "low", "medium", "high", "critical"}
)

// badgeClass returns "badge PREFIX-VALUE" for a known value, and a plain
// "badge" otherwise, so data never invents class names.
func badgeClass(prefix, value string, known []string) string {
	if slices.Contains(known, value) {
		return "badge " + prefix + "-" + value
	}
	return "badge"
}

// errorHeading and errorMessage fall back to wording by status code, so an
// empty argument never leaves the page blank.
func errorHeading(status int, heading string) string {
	if heading != "" {
		return heading
	}
	switch status {
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusTooManyRequests:
		return "Too many scans"
	case http.StatusServiceUnavailable:
		return "Vantage is busy"
	}
	if t := http.StatusText(status); t != "" && status >= 400 && status < 500 {
		return t
	}
	return "Something went wrong"
}

func errorMessage(status int, message string) string {
	if message != "" {
		return message
	}
	switch status {
	case http.StatusNotFound:
		return "There is nothing at this address. It may have been mistyped, or the scan it pointed to no longer exists."
	case http.StatusTooManyRequests:
		return "You have started a lot of scans in a short time. Please wait a little and try again."
	case http.StatusServiceUnavailable:
		return "All scanners are busy right now. Please try again in a minute."
	}
	return "Vantage could not complete your request. Please try again later."
}

// gradeWords appends a scan's grade to a sentence, or nothing.
func gradeWords(grade string) string {
	if grade == "" {
		return ""
	}
	return ", grade " + grade
}

// plural says "1 port was" or "3 ports were".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
