package report

import (
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/probe"
)

func TestCompare(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	base := Scan{CreatedAt: t0, Grade: &Grade{Letter: "D"}, Ports: []PortRow{
		{Port: 22, State: "open", Reason: "syn-ack"},
		{Port: 3306, State: "open", Reason: "syn-ack"},
		{Port: 80, State: "open", Reason: "syn-ack"},
	}, Findings: []probe.Finding{{Port: 80, HTTP: &probe.HTTPInfo{Status: 200}}}}
	tests := []struct {
		name    string
		cur     Scan
		changes []Change
		newP    int
		goneP   int
		grade   [2]string
		empty   bool
	}{
		{"nothing changed", base, nil, 0, 0, [2]string{"D", "D"}, true},
		{"database closed off", Scan{Grade: &Grade{Letter: "B"}, Ports: []PortRow{
			{Port: 22, State: "open", Reason: "syn-ack"},
			{Port: 3306, State: "filtered", Reason: "no-response"},
			{Port: 80, State: "open", Reason: "syn-ack"},
		}, Findings: base.Findings}, []Change{{3306, "open/syn-ack", "filtered/no-response"}}, 0, 0, [2]string{"D", "B"}, false},
		{"http fixed, port added and dropped", Scan{Grade: &Grade{Letter: "D"}, Ports: []PortRow{
			{Port: 22, State: "open", Reason: "syn-ack"},
			{Port: 3306, State: "open", Reason: "syn-ack"},
			{Port: 443, State: "open", Reason: "syn-ack"},
		}, Findings: []probe.Finding{{Port: 80, HTTP: &probe.HTTPInfo{Status: 301, RedirectsToHTTPS: true, Location: "https://x/"}}}},
			[]Change{{80, "open/syn-ack", "not scanned"}, {443, "not scanned", "open/syn-ack"}}, 0, 1, [2]string{"D", "D"}, false},
		{"new problem", Scan{Grade: &Grade{Letter: "F"}, Ports: base.Ports, Findings: append([]probe.Finding{{Port: 22, SSH: &probe.SSHInfo{Banner: "SSH-2.0-x", PasswordAuth: true, AuthMethods: []string{"password"}}}}, base.Findings...)},
			nil, 1, 0, [2]string{"D", "F"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(base, tt.cur)
			if len(d.Changes) != len(tt.changes) {
				t.Fatalf("changes %+v, want %+v", d.Changes, tt.changes)
			}
			for i := range d.Changes {
				if d.Changes[i] != tt.changes[i] {
					t.Errorf("change %d: %+v, want %+v", i, d.Changes[i], tt.changes[i])
				}
			}
			if len(d.NewProblems) != tt.newP || len(d.GoneProblems) != tt.goneP {
				t.Errorf("new %v gone %v", d.NewProblems, d.GoneProblems)
			}
			if d.GradeBefore != tt.grade[0] || d.GradeAfter != tt.grade[1] || d.Empty() != tt.empty || !d.Since.Equal(t0) {
				t.Errorf("diff %+v", d)
			}
		})
	}
}
