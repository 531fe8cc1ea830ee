package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stopContext returns a context cancelled by the first SIGINT/SIGTERM (after
// printing stopping); a second signal prints exiting (if not empty) and
// exits at once. Call stop when done.
func stopContext(stderr io.Writer, stopping, exiting string) (ctx context.Context, stop func()) {
	c, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; !ok {
			return
		}
		fmt.Fprintln(stderr, stopping)
		cancel()
		if _, ok := <-sig; !ok {
			return
		}
		if exiting != "" {
			fmt.Fprintln(stderr, exiting)
		}
		os.Exit(1)
	}()
	return c, func() {
		signal.Stop(sig)
		close(sig)
		cancel()
	}
}
