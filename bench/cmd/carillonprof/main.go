// Command carillonprof is cmd/carillon with net/http/pprof on a separate
// loopback listener, for profiling Carillon under carload (bench/profile.sh).
// It takes exactly carillon's arguments; the profiling address comes from
// CARILLON_PPROF_ADDR (default 127.0.0.1:6060). The API listener does not
// serve the pprof handlers: they live on http.DefaultServeMux, which Carillon
// does not use.
package main

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/carillon-dev/carillon/internal/app"
)

func main() {
	addr := os.Getenv("CARILLON_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			fmt.Fprintln(os.Stderr, "carillonprof: pprof listener:", err)
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "carillonprof:", err)
		os.Exit(1)
	}
}
