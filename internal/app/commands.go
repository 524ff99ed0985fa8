package app

import (
	"context"
	"errors"
	"fmt"
	"io"
)

const usage = `Carillon: an Amazon Chime SDK Meetings control plane.

Usage:
  carillon serve [flags]                       run the server
  carillon version                             print the version (also --version)
  carillon keys create|list|delete [flags]     manage access keys
  carillon audit --meeting ID [flags]          capability-change history of a meeting
  carillon meetings list|get|delete [flags]    inspect and delete meetings
  carillon reset --yes [flags]                 delete every meeting (test suites)
  carillon health [--endpoint URL]             exit 0 when the server is ready (container health checks)
  carillon help [command]                      help of a command (also: carillon COMMAND --help)

The admin commands (keys, audit, meetings, reset) call a running server at
--endpoint (or CARILLON_ENDPOINT) with the root credentials from
CARILLON_ROOT_ACCESS_KEY_ID and CARILLON_ROOT_SECRET_ACCESS_KEY.
`

// Run runs the carillon command with args (without the program name). It
// returns when ctx is cancelled (after a graceful shutdown) or on error;
// ExitCode maps the error to the exit status.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := run(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErrorf("carillon: missing command")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "help":
		if len(args) == 1 {
			fmt.Fprint(stdout, usage)
			return nil
		}
		return run(ctx, append(args[1:len(args):len(args)], "--help"), getenv, stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 && args[0] == "version" {
			if err := parseFlags(versionCommand, newFlagSet("version"), args[1:], stdout); err != nil {
				return err
			}
		}
		fmt.Fprintln(stdout, versionString())
		return nil
	case "serve":
		cfg, err := parseServe(args[1:], getenv, stdout)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout)
	case "audit":
		return runAudit(ctx, args[1:], getenv, stdout)
	case "meetings":
		return runMeetings(ctx, args[1:], getenv, stdout)
	case "reset":
		return runReset(ctx, args[1:], getenv, stdout)
	case "health":
		return runHealth(ctx, args[1:], getenv, stdout)
	}
	return usageErrorf("carillon: unknown command %q (see 'carillon --help')", args[0])
}

var versionCommand = command{name: "version", summary: "Prints the version and the VCS revision this binary was built from."}

// group handles a command made of subcommands (keys, meetings): with no
// subcommand or --help it prints the list; an unknown one is a usage error.
func group(name, list string, args []string, stdout io.Writer) (sub string, rest []string, err error) {
	help := fmt.Sprintf("Usage: carillon %s %s ...\n\nSubcommands:\n%s\nRun 'carillon %s SUBCOMMAND --help' for its flags.\n", name, "SUBCOMMAND", list, name)
	if len(args) == 0 {
		return "", nil, usageErrorf("carillon %s: missing subcommand (see 'carillon %s --help')", name, name)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, help)
		return "", nil, errHelpShown
	}
	return args[0], args[1:], nil
}
