package reports

import (
	"context"
	"fmt"
	"github.com/cutover/cutover/diff"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium returns the browser's path; without one the test skips when
// run by hand and fails under CI, which installs it (scripts/deps.sh).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (make test installs it as root)")
	}
	t.Skip("chromium is not installed: run 'make test' as root, or apt-get install chromium")
	return ""
}

// run runs one browser action and returns its value; an error ends the test.
func run[T any](t *testing.T, tab context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(tab, a)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return v
}

// pageEvents collects what the page must not do.
type pageEvents struct {
	mu       sync.Mutex
	problems []string
}

func (p *pageEvents) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *pageEvents) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// TestHTMLInBrowser opens reports in real headless Chromium: no console
// error, no request but the page's own, the verdict and the top endpoint
// visible, and traffic that is markup shown as text, never run. It writes
// a screenshot for a person to look at and logs its path.
func TestHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	// One browser, a tab per case, one after the other: the machine is small.
	for _, tt := range []struct{ name, fixture string }{{"replay", ""}, {"injected", "injected"}, {"xss", "xss"}} {
		t.Run(tt.name, func(t *testing.T) {
			var s *diff.Summary
			if tt.fixture == "" {
				s = replaySummary(t)
			} else {
				s, _ = readFixture(t, tt.fixture)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "report.html")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := HTML(f, s, HTMLOptions{Generated: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			url := "file://" + path

			tab, cancelTab := chromedp.NewContext(browser)
			defer cancelTab()
			var ev pageEvents
			err = chromedp.Listen(tab, func(e any) {
				switch e := e.(type) {
				case *runtime.EventConsoleAPICalled:
					if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
						ev.add("console %s: %v", e.Type, e.Args)
					}
				case *runtime.EventExceptionThrown:
					ev.add("exception: %s", e.ExceptionDetails.Text)
				case *cdplog.EventEntryAdded:
					if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
						ev.add("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
					}
				case *network.EventRequestWillBeSent:
					if e.Request.URL != url {
						ev.add("request: %s", e.Request.URL)
					}
				case *page.EventJavascriptDialogOpening:
					ev.add("dialog %s: %q", e.Type, e.Message)
					// A dialog blocks the page until answered; no command
					// may run on the listener's goroutine.
					go chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}) //nolint:errcheck
				}
			})
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible("#verdict")); err != nil {
				t.Fatalf("chromium: open %s: %v", url, err)
			}
			verdict := run(t, tab, chromedp.Text("#verdict .verdict"))
			top := run(t, tab, chromedp.Text("details.ep > summary code"))
			scripts := run(t, tab, chromedp.Evaluate[int](`document.scripts.length`))
			bodyText := run(t, tab, chromedp.Evaluate[string](`document.body.innerText`))
			png := run(t, tab, chromedp.FullScreenshot(100))
			shot := filepath.Join(dir, "report.png")
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", shot)

			if want := strings.ToUpper(s.Verdict); strings.TrimSpace(verdict) != want {
				t.Errorf("verdict shown %q, want %q", verdict, want)
			}
			if want := rank(s)[0].Endpoint; strings.TrimSpace(top) != want {
				t.Errorf("top endpoint shown %q, want %q", top, want)
			}
			if scripts != 0 {
				t.Errorf("the page has %d script elements, want none", scripts)
			}
			if tt.fixture == "xss" && !strings.Contains(bodyText, xssBody) {
				t.Errorf("the page does not show %q as text", xssBody)
			}
			// Let late events (a deferred request, a dialog) arrive.
			time.Sleep(200 * time.Millisecond)
			for _, p := range ev.list() {
				t.Errorf("page: %s", p)
			}
		})
	}
}
