package web

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/vantagescan/vantage/internal/netlab"
	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
	"github.com/vantagescan/vantage/internal/probe/probetest"
	"github.com/vantagescan/vantage/internal/scan"
)

// EnvBrowser set to 1 (CI sets it) makes a missing Chromium a failure
// instead of a skip.
const EnvBrowser = "VANTAGE_BROWSER"

// artefacts is where the browser test leaves its screenshots.
func artefacts(t *testing.T) string {
	dir := os.Getenv("VANTAGE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vantage-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts headless Chromium with the flags that keep it off the
// network (TESTING.md), or skips the test when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(EnvBrowser) == "1" {
			t.Fatalf("%s=1 but chromium is not installed: %v", EnvBrowser, err)
		}
		t.Skipf("no chromium (set %s=1 to make this a failure)", EnvBrowser)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// viewport sizes the page as a desktop (1280) or a phone (390) would.
func viewport(width int64) chromedp.Action[chromedp.Void] {
	if width < 600 {
		return chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	return chromedp.EmulateViewport(width, 900)
}

// count returns how many elements match a CSS selector right now.
func count(ctx context.Context, sel string) (int, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`))
}

func screenshot(t *testing.T, ctx context.Context, name string, width int64) {
	t.Helper()
	if err := chromedp.Do(ctx, viewport(width)); err != nil {
		t.Fatalf("viewport %d: %v", width, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG (below 100 chromedp writes JPEG)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artefacts(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestBrowserScan is the person's path in a real browser: open the form,
// fill it in, submit, watch rows arrive before the scan ends, reach the
// summary, reload the share link — and the same with JavaScript off.
func TestBrowserScan(t *testing.T) {
	ctx := browser(t)
	ts := newService(t, scan.Config{Rate: 8, Burst: 1}, 5) // 20 ports: about 2.5 s
	open := strconv.Itoa(int(netlabtest.OpenPort(t)))

	for _, js := range []bool{true, false} {
		t.Run(fmt.Sprintf("javascript=%v", js), func(t *testing.T) {
			if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !js}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx,
				viewport(1280),
				chromedp.Navigate(ts.srv.URL+"/"),
				chromedp.WaitVisible(chromedp.CSS("#host")),
			); err != nil {
				t.Fatal(err)
			}
			if js {
				screenshot(t, ctx, "landing-desktop.png", 1280)
				screenshot(t, ctx, "landing-phone.png", 390)
				if err := chromedp.Do(ctx, viewport(1280)); err != nil {
					t.Fatal(err)
				}
			}
			err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS("#host"), "127.0.0.1"),
				chromedp.SendKeys(chromedp.CSS("#custom"), "61000-61018,"+open),
				chromedp.Click(chromedp.CSS("#consent")),
				chromedp.Click(chromedp.CSS("button[type=submit]:not([name=target])"), chromedp.NodeVisible),
			)
			if err != nil {
				t.Fatalf("fill in the form: %v", err)
			}
			// Poll the page while it loads: rows must show before the summary.
			sawRowsFirst, sawProgress := false, false
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				rows, err1 := count(ctx, `tr[id^="port-"]`)
				summary, err2 := count(ctx, `#summary`)
				if err1 != nil || err2 != nil {
					continue // the page is between documents
				}
				if rows > 0 && summary == 0 {
					sawRowsFirst = true
					if n, _ := count(ctx, `#progress progress`); n > 0 {
						sawProgress = true
					}
				}
				if summary > 0 {
					break
				}
			}
			if !sawRowsFirst {
				t.Error("never saw a row before the summary: the results page did not stream")
			}
			if sawProgress != js {
				t.Errorf("progress bar shown: %v, with JavaScript %v", sawProgress, js)
			}
			if n, _ := count(ctx, `#share + button`); (n == 1) != js {
				t.Errorf("copy button present: %v, with JavaScript %v", n == 1, js)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#summary"))); err != nil {
				t.Fatal(err)
			}
			url, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			if rows, _ := count(ctx, `tr[id^="port-"]`); rows != 20 {
				t.Errorf("%d rows on the page, want 20", rows)
			}
			if js {
				screenshot(t, ctx, "results-desktop.png", 1280)
				screenshot(t, ctx, "results-phone.png", 390)
				if err := chromedp.Do(ctx, viewport(1280)); err != nil {
					t.Fatal(err)
				}
			}
			// The share link, reloaded: the finished page from the store.
			if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#summary"))); err != nil {
				t.Fatal(err)
			}
			if rows, _ := count(ctx, `tr[id^="port-"]`); rows != 20 {
				t.Errorf("reloaded share link: %d rows, want 20", rows)
			}
		})
	}
}

// TestBrowserFindings: every kind of follow-up check shows on the results
// page in a real browser, with the grade; the screenshot is kept.
func TestBrowserFindings(t *testing.T) {
	ctx := browser(t)
	servers := probetest.Start(t)
	srv := newProbingService(t, nil)
	var spec []string
	for _, p := range servers.List() {
		spec = append(spec, strconv.Itoa(int(p)))
	}
	if err := chromedp.Do(ctx,
		viewport(1280),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#host"), "127.0.0.1"),
		chromedp.SendKeys(chromedp.CSS("#custom"), strings.Join(spec, ",")),
		chromedp.Click(chromedp.CSS("#consent")),
		chromedp.Click(chromedp.CSS("button[type=submit]:not([name=target])"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TLS", "Self-signed", "SSH", "brute force", "probetest FTP ready", "without redirecting to HTTPS", "Exposure grade"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	if n, _ := count(ctx, `li.finding`); n < 4 {
		t.Errorf("%d findings on the page, want one per server (4)", n)
	}
	screenshot(t, ctx, "results-findings-desktop.png", 1280)
	screenshot(t, ctx, "results-findings-phone.png", 390)
}

// TestBrowserRescanShowsWhatChanged scans a lab host, changes a port's
// firewall rule as an admin would, rescans from the results page and reads
// "Changes since" in the browser.
func TestBrowserRescanShowsWhatChanged(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{Name: "rescan", Link: netlab.Link{Delay: time.Millisecond},
		Ports: map[uint16]netlab.Rule{22: netlab.Open, 3306: netlab.Open}})
	ctx := browser(t)
	srv := newServiceFor(t, lab.Prefixes(), nil)
	if err := chromedp.Do(ctx,
		viewport(1280),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#host"), lab.Addr4().String()),
		chromedp.SendKeys(chromedp.CSS("#custom"), "22,80,3306"),
		chromedp.Click(chromedp.CSS("#consent")),
		chromedp.Click(chromedp.CSS("button[type=submit]:not([name=target])"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
	); err != nil {
		t.Fatal(err)
	}
	// The admin closes MySQL off at the firewall.
	if err := lab.SetRule(context.Background(), 3306, netlab.Drop); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#rescan-consent")),
		chromedp.Click(chromedp.CSS("form.rescan button[type=submit]"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#changes-heading")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".changes")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "3306/tcp: open/syn-ack → filtered/no-response") || strings.Contains(text, "22/tcp") {
		t.Errorf("changes section: %q", text)
	}
	screenshot(t, ctx, "rescan-changes-desktop.png", 1280)
}

// TestBrowserDualStack is the dual-stack surprise in a real browser: a lab
// host whose SSH is firewalled over IPv4 only (an ip6tables rule forgotten)
// is scanned by name with "also scan IPv6" ticked, and the comparison
// marks that port.
func TestBrowserDualStack(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{Name: "dual", IPv6: true, Link: netlab.Link{Delay: time.Millisecond},
		Ports: map[uint16]netlab.Rule{22: netlab.Open, 443: netlab.Open}, IPv4Drop: []uint16{22}})
	ctx := browser(t)
	svc := newNamedService(t, lab.Prefixes(), map[string][]netip.Addr{"lab.vantage-test.net": {lab.Addr4(), lab.Addr6()}}, scan.Config{}, nil)
	if err := chromedp.Do(ctx,
		viewport(1280),
		chromedp.Navigate(svc.url+"/"),
		chromedp.SendKeys(chromedp.CSS("#host"), "lab.vantage-test.net"),
		chromedp.Click(chromedp.CSS("#ipv6")),
		chromedp.SendKeys(chromedp.CSS("#custom"), "22,80,443,3306"),
		chromedp.Click(chromedp.CSS("#consent")),
		chromedp.Click(chromedp.CSS("button[type=submit]:not([name=target])"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#dual-stack")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".dual-stack")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 port answers differently over IPv4 and IPv6", lab.Addr4().String(), lab.Addr6().String(),
		"The other 2 ports answer alike: 2 closed and 0 filtered on both."} {
		if !strings.Contains(text, want) {
			t.Errorf("comparison lacks %q:\n%s", want, text)
		}
	}
	differs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelector('.dual-table').querySelectorAll('tr.differs th')].map(th => th.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(differs) != 1 || differs[0] != "22/tcp" {
		t.Errorf("rows marked as differing: %q, want 22/tcp only", differs)
	}
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".dual-table tr.differs")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(row, "filtered") || !strings.Contains(row, "open") || !strings.Contains(row, "Differs") {
		t.Errorf("the differing row reads %q", row)
	}
	screenshot(t, ctx, "dual-stack-desktop.png", 1280)
	screenshot(t, ctx, "dual-stack-phone.png", 390)
}

// TestBrowserStopAScan: the person who started a slow scan clicks "Stop
// this scan" while rows stream in, and lands on the page reading
// Cancelled with the rows found so far.
func TestBrowserStopAScan(t *testing.T) {
	ctx := browser(t)
	ts := newService(t, scan.Config{Rate: 4, Burst: 1}, 5) // 40 ports: about 10 s
	if err := chromedp.Do(ctx,
		viewport(1280),
		chromedp.Navigate(ts.srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#host"), "127.0.0.1"),
		chromedp.SendKeys(chromedp.CSS("#custom"), "61000-61039"),
		chromedp.Click(chromedp.CSS("#consent")),
		chromedp.Click(chromedp.CSS("button[type=submit]:not([name=target])"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("form.cancel button")),
		chromedp.WaitVisible(chromedp.CSS(`tr[id="port-61002"]`)),
		chromedp.Click(chromedp.CSS("form.cancel button"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#summary")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("section[aria-labelledby=summary]")))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := count(ctx, `tr[id^="port-"]`)
	if !strings.Contains(text, "Cancelled") || !strings.Contains(text, "Stopped by the person who started it") || rows < 3 || rows == 40 {
		t.Errorf("after stopping: %d rows, summary %q", rows, text)
	}
	if n, _ := count(ctx, "form.cancel"); n != 0 {
		t.Error("the stop button is still offered on the stopped scan's page")
	}
}
