// Command cutover moves live traffic from a legacy HTTP proxy to a candidate
// without breaking anyone: it shadows, replays, compares and gates the cutover.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and maps its outcome to the exit codes of DESIGN.md:
// 0 ran and passed, 1 ran and the verdict failed, 2 could not run; a
// rollout interrupted or left paused has its own (exit.go).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, a := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	a.finish()
	if err == nil {
		return 0
	}
	var coded *codedError
	if errors.As(err, &coded) {
		fmt.Fprintln(stderr, "cutover:", oneLine(coded.msg))
		return coded.code
	}
	var verdict *verdictError
	if errors.As(err, &verdict) {
		if verdict.msg != "" {
			fmt.Fprintln(stderr, "cutover:", verdict.msg)
		}
		return 1
	}
	fmt.Fprintln(stderr, "cutover:", oneLine(err.Error()))
	return 2
}
