package testbed

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// process is a server the test bed runs as a child, in its own process
// group so that stopping it takes its workers too, and killed with the test
// process should that die first. It stops when the context it was started
// with is done, or on Stop.
type process struct {
	cmd   *exec.Cmd
	grace time.Duration // between SIGTERM and SIGKILL
	done  chan struct{}
	err   error // Wait's, once done is closed
}

// startProcess starts cmd; grace bounds its shutdown on SIGTERM.
func startProcess(ctx context.Context, cmd *exec.Cmd, grace time.Duration) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, grace: grace, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			p.stop()
		case <-p.done:
		}
	}()
	return p, nil
}

// stop sends SIGTERM to the group, SIGKILL after the grace, and waits for
// the process; it is idempotent, and a nil process is stopped.
func (p *process) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(p.grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited is closed when the process has ended.
func (p *process) exited() <-chan struct{} { return p.done }
