package redistest

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// sysProcAttr puts redis-server in its own process group, so that Kill can
// signal it together with anything it forked, and has the kernel SIGKILL it
// when the test binary dies (^C, test timeout), so it does not outlive the
// test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// Pdeathsig fires when the thread that forked the child exits, not the
// process, so children are forked on one locked thread that lives as long
// as the test binary.
var (
	startOnce sync.Once
	startReqs = make(chan startReq)
)

type startReq struct {
	cmd  *exec.Cmd
	errc chan error
}

// startCmd runs cmd.Start on the long-lived thread.
func startCmd(cmd *exec.Cmd) error {
	startOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked, so the thread never exits
			for r := range startReqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	startReqs <- startReq{cmd, errc}
	return <-errc
}
