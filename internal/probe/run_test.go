package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		port uint16
		want []string
	}{
		{443, []string{CheckTLS}}, {8443, []string{CheckTLS}}, {993, []string{CheckTLS}}, {995, []string{CheckTLS}},
		{465, []string{CheckTLS}}, {636, []string{CheckTLS}}, {6443, []string{CheckTLS}},
		{80, []string{CheckHTTP}}, {8080, []string{CheckHTTP}}, {8000, []string{CheckHTTP}}, {8008, []string{CheckHTTP}},
		{8888, []string{CheckHTTP}},
		{22, []string{CheckSSH}}, {2222, []string{CheckSSH}},
		{21, []string{CheckBanner}}, {25, []string{CheckBanner}}, {3306, []string{CheckBanner}}, {6379, []string{CheckBanner}},
		{54321, []string{CheckBanner}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(int(tt.port)), func(t *testing.T) {
			if got := Plan(tt.port); !slices.Equal(got, tt.want) {
				t.Errorf("Plan(%d) = %q, want %q", tt.port, got, tt.want)
			}
		})
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	d := &testDialer{}
	emit := func(Finding) { t.Error("emit called") }
	tests := []struct {
		name string
		cfg  Config
		addr netip.Addr
	}{
		{"no dialer", Config{}, loopback},
		{"no address", Config{Dial: d.Dial}, netip.Addr{}},
		{"unknown check", Config{Dial: d.Dial, Checks: map[uint16][]string{1: {"telnet"}}}, loopback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Run(t.Context(), tt.cfg, tt.addr, []uint16{1}, emit); err == nil {
				t.Error("Run succeeded")
			}
		})
	}
	if d.calls.Load() != 0 {
		t.Errorf("%d dials, want none", d.calls.Load())
	}
}

func TestRunDialsOnlyThroughConfigDial(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	port, _ := tlsServer(t, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{
		ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(24*time.Hour), testHost), false),
	}})
	d := &testDialer{}
	run(t, Config{Dial: d.Dial, Host: testHost, Roots: ca.pool, Checks: map[uint16][]string{port: {CheckTLS}}}, port)
	want := "127.0.0.1:" + strconv.Itoa(int(port))
	got := d.addresses()
	if len(got) != 3 { // the handshake, then TLS 1.0 and TLS 1.1 attempts
		t.Errorf("%d dials, want 3", len(got))
	}
	for _, a := range got {
		if a != want {
			t.Errorf("dialed %q, want only %q", a, want)
		}
	}
}

func TestRunWithARefusingDial(t *testing.T) {
	d := &testDialer{refuse: true}
	checks := map[uint16][]string{1001: {CheckTLS}, 1002: {CheckHTTP}, 1003: {CheckSSH}, 1004: {CheckBanner}}
	findings := run(t, Config{Dial: d.Dial, Host: testHost, Checks: checks}, 1001, 1002, 1003, 1004)
	if len(findings) != 4 {
		t.Fatalf("findings %+v, want 4", findings)
	}
	for _, f := range findings {
		if !strings.HasSuffix(f.Err, ": the connection could not be made") || f.TLS != nil || f.HTTP != nil || f.SSH != nil || f.Banner != nil {
			t.Errorf("finding %+v, want only the connection failure", f)
		}
		if !slices.Equal(checks[f.Port], []string{f.Check}) {
			t.Errorf("finding %+v for the wrong check", f)
		}
	}
	if d.calls.Load() != 4 {
		t.Errorf("%d dials, want 4", d.calls.Load())
	}
}

func TestSilentPortEndsWithinItsLimit(t *testing.T) {
	port := serve(t, tarpit)
	d := &testDialer{}
	cfg := Config{Dial: d.Dial, PerProbe: 300 * time.Millisecond, Checks: map[uint16][]string{port: {CheckBanner}}}
	start := time.Now()
	f := only(t, run(t, cfg, port), port, CheckBanner)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the banner check took %v", elapsed)
	}
	if f.Err != "the port sent no greeting and answered neither TLS nor HTTP" {
		t.Errorf("finding %+v", f)
	}
}

func TestPerProbeLimit(t *testing.T) {
	port := serve(t, tarpit)
	d := &testDialer{}
	cfg := Config{Dial: d.Dial, PerProbe: 200 * time.Millisecond, Checks: map[uint16][]string{port: {CheckTLS, CheckHTTP, CheckSSH}}}
	findings := run(t, cfg, port)
	want := map[string]string{
		CheckTLS:  "the TLS handshake failed: the port did not answer in time",
		CheckHTTP: "the HTTP request failed: the port did not answer in time",
		CheckSSH:  "the SSH handshake failed: the port did not answer in time",
	}
	for check, msg := range want {
		if f := only(t, findings, port, check); f.Err != msg {
			t.Errorf("%s: Err %q, want %q", check, f.Err, msg)
		}
	}
}

func TestTotalLimit(t *testing.T) {
	port := serve(t, tarpit)
	d := &testDialer{}
	cfg := Config{Dial: d.Dial, Total: time.Second, Concurrency: 2,
		Checks: map[uint16][]string{port: {CheckTLS, CheckHTTP, CheckSSH, CheckBanner}}}
	start := time.Now()
	findings := run(t, cfg, port)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Run took %v with Total 1s", elapsed)
	}
	if len(findings) != 4 {
		t.Fatalf("findings %+v, want 4", findings)
	}
	for _, f := range findings {
		if f.Err != msgOutOfTime {
			t.Errorf("finding %+v, want %q", f, msgOutOfTime)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	port := serve(t, tarpit)
	d := &testDialer{}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	var findings []Finding
	err := Run(ctx, Config{Dial: d.Dial, Concurrency: 1, Checks: map[uint16][]string{port: {CheckSSH, CheckTLS}}},
		loopback, []uint16{port}, func(f Finding) { findings = append(findings, f) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if len(findings) != 2 || findings[0].Err != msgOutOfTime || findings[1].Err != msgOutOfTime {
		t.Errorf("findings %+v, want both checks out of time", findings)
	}
}

func TestEmitIsSerialized(t *testing.T) {
	var ports []uint16
	checks := map[uint16][]string{}
	for range 8 {
		p := serve(t, greeter("220 test FTP ready\r\n"))
		ports = append(ports, p)
		checks[p] = []string{CheckBanner}
	}
	d := &testDialer{}
	var inside, overlaps, n atomic.Int64
	err := Run(t.Context(), Config{Dial: d.Dial, Concurrency: 8, Checks: checks}, loopback, ports, func(Finding) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(5 * time.Millisecond)
		inside.Add(-1)
		n.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if overlaps.Load() != 0 || n.Load() != 8 {
		t.Errorf("%d overlapping emits of %d, want 0 of 8", overlaps.Load(), n.Load())
	}
}

func TestKnownPortsComeFirst(t *testing.T) {
	tasks, err := plan(Config{Checks: map[uint16][]string{40000: {CheckTLS}}}, []uint16{50000, 443, 40000, 443, 22})
	if err != nil {
		t.Fatal(err)
	}
	want := []task{{443, CheckTLS}, {40000, CheckTLS}, {22, CheckSSH}, {50000, CheckBanner}}
	if !slices.Equal(tasks, want) {
		t.Errorf("plan = %v, want %v", tasks, want)
	}
}
