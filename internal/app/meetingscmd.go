package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

var (
	meetingsListCommand = command{name: "meetings list", synopsis: "--endpoint URL [--limit N]",
		summary: "Lists live meetings, oldest first, one JSON object a line with the meeting and its attendee count.\nNot an AWS operation: it uses Carillon's administration API."}
	meetingsGetCommand    = command{name: "meetings get", synopsis: "--endpoint URL MEETING_ID", summary: "Prints one meeting as JSON."}
	meetingsDeleteCommand = command{name: "meetings delete", synopsis: "--endpoint URL MEETING_ID", summary: "Deletes one meeting with its attendees."}
	resetCommand          = command{name: "reset", synopsis: "--endpoint URL --yes",
		summary: "Deletes every meeting of the server (for test suites, between runs). Access keys stay."}
)

// runMeetings implements `carillon meetings list|get|delete`.
func runMeetings(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub, args, err := group("meetings", "  list     list live meetings\n  get      print one meeting\n  delete   delete one meeting\n", args, stdout)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		var limit int
		c, _, err := adminFlags(meetingsListCommand, args, getenv, stdout, func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", 1000, "most meetings to list (1 to 10000)")
		})
		if err != nil {
			return err
		}
		if limit < 1 || limit > 10000 {
			return usageErrorf("carillon meetings list: --limit must be from 1 to 10000")
		}
		var out struct{ Meetings []json.RawMessage }
		if err := c.call(ctx, http.MethodGet, "/carillon/admin/meetings", url.Values{"limit": {strconv.Itoa(limit)}}, nil, &out); err != nil {
			return err
		}
		for _, m := range out.Meetings {
			if _, err := fmt.Fprintf(stdout, "%s\n", m); err != nil {
				return err
			}
		}
		return nil
	case "get", "delete":
		cmd := meetingsGetCommand
		if sub == "delete" {
			cmd = meetingsDeleteCommand
		}
		c, fs, err := adminFlags(cmd, args, getenv, stdout, nil)
		if err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageErrorf("usage: carillon %s %s", cmd.name, cmd.synopsis)
		}
		path := "/carillon/admin/meetings/" + url.PathEscape(fs.Arg(0))
		if sub == "delete" {
			return c.call(ctx, http.MethodDelete, path, nil, nil, nil)
		}
		var out json.RawMessage
		if err := c.call(ctx, http.MethodGet, path, nil, nil, &out); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", out)
		return err
	}
	return usageErrorf("carillon meetings: unknown subcommand %q (want list, get or delete)", sub)
}

// runReset implements `carillon reset --yes`.
func runReset(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var yes bool
	c, _, err := adminFlags(resetCommand, args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.BoolVar(&yes, "yes", false, "confirm: every meeting is deleted")
	})
	if err != nil {
		return err
	}
	if !yes {
		return usageErrorf("carillon reset deletes every meeting of %s: add --yes to confirm", c.endpoint.Redacted())
	}
	var out struct{ Deleted int }
	if err := c.call(ctx, http.MethodDelete, "/carillon/admin/meetings", nil, nil, &out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "deleted %d meetings\n", out.Deleted)
	return err
}
