package reports_test

import (
	"context"
	"fmt"
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

// browser is one headless Chromium for a test, a tab per page.
type browser struct {
	ctx    context.Context
	cancel func()
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (make test installs it as root)")
		}
		t.Skip("chromium is not installed: run 'make test' as root, or apt-get install chromium")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	b, cancelBrowser := chromedp.NewContext(alloc)
	br := &browser{ctx: b, cancel: func() { cancelBrowser(); cancelAlloc(); cancel() }}
	t.Cleanup(br.cancel)
	return br
}

// tab is one open page and what it did that it must not do.
type tab struct {
	t        *testing.T
	ctx      context.Context
	url      string
	mu       sync.Mutex
	problems []string
	loads    int // requests for the page itself
}

// open opens url in a new tab and waits for sel.
func (b *browser) open(t *testing.T, url, sel string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, url: url}
	if err := chromedp.Listen(ctx, func(e any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch e := e.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				tb.problems = append(tb.problems, fmt.Sprintf("console %s: %v", e.Type, e.Args))
			}
		case *runtime.EventExceptionThrown:
			tb.problems = append(tb.problems, "exception: "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				tb.problems = append(tb.problems, fmt.Sprintf("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			if e.Request.URL == url {
				tb.loads++
			} else {
				tb.problems = append(tb.problems, "request: "+e.Request.URL)
			}
		case *page.EventJavascriptDialogOpening:
			tb.problems = append(tb.problems, fmt.Sprintf("dialog %s: %q", e.Type, e.Message))
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}) //nolint:errcheck
		}
	}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(sel)); err != nil {
		t.Fatalf("chromium: open %s: %v", url, err)
	}
	return tb
}

// eval evaluates a JavaScript expression in the page (the test's own, not
// the page's: the page has none) and returns its value.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("chromium: %s: %v", expr, err)
	}
	return v
}

// text is the visible text of the first element matching sel ("" if none).
func (tb *tab) text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(eval[string](t, tb, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel)))
}

// inert checks the page ran nothing and fetched nothing, after letting
// late events arrive.
func (tb *tab) inert(t *testing.T) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	if n := eval[int](t, tb, `document.scripts.length`); n != 0 {
		t.Errorf("the page has %d script elements, want none", n)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		t.Errorf("page: %s", p)
	}
}

func (tb *tab) pageLoads() int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.loads
}

// screenshot writes a full-page screenshot next to the test's files, or
// into $CUTOVER_SCREENSHOTS when set, for a person to look at.
func (tb *tab) screenshot(path string) {
	tb.t.Helper()
	if dir := os.Getenv("CUTOVER_SCREENSHOTS"); dir != "" {
		path = filepath.Join(dir, filepath.Base(path))
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("chromium: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", path)
}
