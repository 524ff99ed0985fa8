package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Exit codes of the carillon binary.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and failed
	ExitUsage   = 2 // the command line was wrong (unknown flag, bad value)
)

// usageError is a mistake on the command line: main exits with ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errHelpShown says a command printed its help as asked; Run turns it into
// success, so that every `--help` exits 0.
var errHelpShown = errors.New("help shown")

// ExitCode maps Run's error to the process exit status.
func ExitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitFailure
}

// command describes one (sub)command for its --help.
type command struct {
	name     string // "keys create"
	synopsis string // what follows the name in the usage line
	summary  string // one or more sentences
	// env says flags may also come from CARILLON_<FLAG> variables.
	env bool
}

// newFlagSet returns a flag set that reports nothing itself: parseFlags
// decides what is printed, where, and the exit status.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("carillon "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args. --help prints the command's help to stdout and
// returns errHelpShown; a bad flag is a one-line usageError.
func parseFlags(cmd command, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, cmd, fs)
		return errHelpShown
	}
	if err != nil {
		return usageErrorf("carillon %s: %s (see 'carillon %s --help')", cmd.name, flagErrorText(err), cmd.name)
	}
	return nil
}

// flagErrorText rewrites the flag package's messages in the --double-dash
// form the help uses.
func flagErrorText(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + strings.TrimPrefix(name, "-")
	}
	if rest, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag --" + strings.TrimPrefix(rest, "-") + " needs a value"
	}
	if i := strings.Index(msg, " for flag -"); i >= 0 && strings.HasPrefix(msg, "invalid ") {
		// `invalid value "x" for flag -n: parse error`
		return msg[:i] + " for flag --" + msg[i+len(" for flag -"):]
	}
	return msg
}

// applyEnv sets every flag not given on the command line from its
// CARILLON_<FLAG> variable. It runs before Parse, so the command line wins,
// and it leaves the flags' DefValue alone, so that --help shows the built-in
// defaults and never a value taken from the environment (which may hold a
// password).
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = usageErrorf("%s (for --%s): invalid value %q: %v", name, f.Name, redactValue(f.Name, v), serr)
		}
	})
	return err
}

func envName(flagName string) string {
	return "CARILLON_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// printHelp prints a command's usage line, summary and flags with their
// types and defaults.
func printHelp(w io.Writer, cmd command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: carillon %s %s\n\n", cmd.name, cmd.synopsis)
	if cmd.summary != "" {
		fmt.Fprintf(w, "%s\n\n", cmd.summary)
	}
	any := false
	fs.VisitAll(func(*flag.Flag) { any = true })
	if !any {
		return
	}
	fmt.Fprintln(w, "Flags:")
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if typ != "" {
			head += " " + typ
		}
		fmt.Fprintln(w, head)
		fmt.Fprintf(w, "        %s\n", usage)
		var notes []string
		if f.DefValue != "" && !(typ == "" && f.DefValue == "false") {
			notes = append(notes, fmt.Sprintf("default %s", redactValue(f.Name, f.DefValue)))
		}
		if cmd.env {
			notes = append(notes, "env "+envName(f.Name))
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, "        (%s)\n", strings.Join(notes, "; "))
		}
	})
	if cmd.env {
		fmt.Fprintln(w, "\nRoot credentials: CARILLON_ROOT_ACCESS_KEY_ID and CARILLON_ROOT_SECRET_ACCESS_KEY.")
	}
}

// redactValue hides what may be secret in a value before it is printed:
// the password of a URL, and the whole value of a flag whose name says it
// is a secret.
func redactValue(flagName, v string) string {
	lower := strings.ToLower(flagName)
	for _, word := range []string{"secret", "password", "token"} {
		if strings.Contains(lower, word) && v != "" {
			return "(hidden)"
		}
	}
	if strings.Contains(v, "://") || strings.Contains(v, "password=") {
		return redactURL(v)
	}
	return v
}

// redactURL drops the password from a URL before it is printed; a database
// key=value DSN, which may hold one anywhere, is not printed at all.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(hidden: not a URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	for k := range u.Query() {
		if strings.Contains(strings.ToLower(k), "password") {
			q := u.Query()
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}
