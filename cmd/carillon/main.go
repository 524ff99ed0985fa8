// Command carillon runs the Carillon server and its admin commands. See
// internal/app.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/carillon-dev/carillon/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch app.ExitCode(err) {
	case app.ExitUsage:
		fmt.Fprintln(os.Stderr, err) // already names the command
	case app.ExitFailure:
		fmt.Fprintln(os.Stderr, "carillon:", err)
	}
	os.Exit(app.ExitCode(err))
}
