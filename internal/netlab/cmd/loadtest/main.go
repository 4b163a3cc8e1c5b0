// Command loadtest is `make load`: a bounded load test of the real service
// on loopback, scanning only a network lab it builds. It runs wrk against
// the landing page and a finished results page (10 s, 100 connections
// each), then submits 200 scans from 200 client addresses through a
// trusted loopback proxy, and reports throughput, latency, how the
// submissions were answered, whether every accepted scan finished, and the
// service's peak RSS. It needs root (the lab), wrk and a built binary.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vantagescan/vantage/internal/netlab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	bin := flag.String("vantage", "bin/vantage", "the vantage binary")
	submissions := flag.Int("scans", 200, "scan submissions (bounded: at most 1000)")
	flag.Parse()
	if *submissions < 1 || *submissions > 1000 {
		return errors.New("-scans must be 1..1000")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk: %w (apt-get install wrk)", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute) // the whole run is bounded
	defer cancel()

	rules := map[uint16]netlab.Rule{22: netlab.Open, 80: netlab.Open, 443: netlab.Open, 23: netlab.Drop, 3306: netlab.RejectHostUnreach}
	lab, err := netlab.New(ctx, netlab.Config{Name: "load", Ports: rules, Link: netlab.Link{Delay: time.Millisecond}})
	if err != nil {
		return err
	}
	defer lab.Close()

	dir, err := os.MkdirTemp("", "vantage-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "", "--db", filepath.Join(dir, "v.db"),
		"--trusted-proxy", "127.0.0.1/32", "--log-format", "json"}
	for _, p := range lab.Prefixes() {
		args = append(args, "--allow-cidr", p.String())
	}
	cmd := exec.CommandContext(ctx, *bin, args...)
	stdout, _ := cmd.StdoutPipe()
	logf, _ := os.Create(filepath.Join(dir, "serve.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	base := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, u, ok := strings.Cut(sc.Text(), "serving on "); ok {
			base = u
			break
		}
	}
	if base == "" {
		return errors.New("the service did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	fmt.Printf("service %s, lab %s\n", base, lab.Addr4())

	client := &http.Client{Timeout: 2 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	submit := func(clientAddr, ports string) (int, string, error) {
		form := url.Values{"host": {lab.Addr4().String()}, "ports": {"quick"}, "custom": {ports}, "consent": {"on"}}
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/scans", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", clientAddr)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location"), nil
	}
	// One finished results page to load.
	code, loc, err := submit("192.0.2.1", "1-100")
	if err != nil || code != http.StatusSeeOther {
		return fmt.Errorf("first scan: %d %v", code, err)
	}
	if err := readToEnd(ctx, client, base+loc); err != nil {
		return err
	}

	for _, path := range []string{"/", loc} {
		out, err := exec.CommandContext(ctx, "wrk", "-t2", "-c100", "-d10s", "--latency", base+path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("wrk: %v\n%s", err, out)
		}
		fmt.Printf("wrk -t2 -c100 -d10s %s: %s\n", label(path), wrkSummary(string(out)))
	}

	// Scan submissions from many clients at once, each a distinct port set
	// (the cooldown would answer repeats).
	var mu sync.Mutex
	counts := map[string]int{}
	var accepted []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	start := time.Now()
	for i := range *submissions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			clientAddr := fmt.Sprintf("198.51.100.%d", i%250+1)
			if i >= 250 {
				clientAddr = fmt.Sprintf("203.0.113.%d", i%250+1)
			}
			code, loc, err := submit(clientAddr, fmt.Sprintf("1-50,%d", 1000+i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				counts["error"]++
			case code == http.StatusSeeOther && strings.Contains(loc, "recent=1"):
				counts["cooldown"]++
			case code == http.StatusSeeOther:
				counts["accepted"]++
				accepted = append(accepted, loc)
			default:
				counts[fmt.Sprint(code)]++
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%d submissions in %v: %v\n", *submissions, time.Since(start).Round(time.Millisecond), counts)

	unfinished := 0
	for _, loc := range accepted {
		if err := readToEnd(ctx, client, base+loc); err != nil {
			unfinished++
			fmt.Printf("  %s: %v\n", loc, err)
		}
	}
	fmt.Printf("accepted scans that finished: %d of %d\n", len(accepted)-unfinished, len(accepted))
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM") || strings.HasPrefix(line, "VmRSS") {
				fmt.Println(strings.Join(strings.Fields(line), " "))
			}
		}
	}
	logText, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
	if strings.Contains(string(logText), "panic") {
		return errors.New("the service logged a panic")
	}
	if unfinished > 0 || counts["error"] > 0 {
		return errors.New("some scans did not finish or requests failed")
	}
	return nil
}

// readToEnd reads a results page until the stream ends with its summary.
func readToEnd(ctx context.Context, c *http.Client, u string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), `id="summary"`) || !strings.Contains(string(b), "Finished") {
		return errors.New("the page ended without a finished summary")
	}
	return nil
}

func label(path string) string {
	if path == "/" {
		return "/"
	}
	return "a finished results page"
}

var (
	rpsRE = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	p50RE = regexp.MustCompile(`\s50%\s+([\d.]+\w+)`)
	p99RE = regexp.MustCompile(`\s99%\s+([\d.]+\w+)`)
	errRE = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
)

func wrkSummary(out string) string {
	find := func(re *regexp.Regexp) string {
		if m := re.FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return "?"
	}
	non2xx := "0"
	if m := errRE.FindStringSubmatch(out); m != nil {
		non2xx = m[1]
	}
	return fmt.Sprintf("%s req/s, p50 %s, p99 %s, non-2xx %s", find(rpsRE), find(p50RE), find(p99RE), non2xx)
}
