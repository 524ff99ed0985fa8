// Command apidigest writes internal/apimodel/api-constraints.json, the digest
// of the Chime SDK Meetings service model that Carillon embeds, from the
// published model (chime-sdk-meetings/2021-07-15/service-2.json, as botocore
// ships it):
//
//	go run ./tools/apidigest -model path/to/service-2.json -out internal/apimodel/api-constraints.json
//
// The layout of the digest is described in docs/wire.md ("The constraints
// digest"). Its text is JSON indented by one space with the model's own
// order of operations, members and shapes, and non-ASCII characters escaped,
// so that the same model always gives the same bytes; TestDigestIsUpToDate
// fails when the embedded file and the model disagree.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	model := flag.String("model", "", "the service model, service-2.json (or .json.gz); default: $CARILLON_SERVICE_MODEL, then well-known places")
	out := flag.String("out", "", "where to write the digest (default: standard output)")
	flag.Parse()
	path := *model
	if path == "" {
		var tried []string
		path, tried = FindModel()
		if path == "" {
			fmt.Fprintf(os.Stderr, "apidigest: no service model found; give -model or set CARILLON_SERVICE_MODEL (looked in %s)\n", strings.Join(tried, ", "))
			os.Exit(2)
		}
	}
	raw, err := ReadModel(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apidigest:", err)
		os.Exit(1)
	}
	digest, err := Digest(raw)
	if err != nil {
		fmt.Fprintf(os.Stderr, "apidigest: %s: %v\n", path, err)
		os.Exit(1)
	}
	if *out == "" {
		os.Stdout.Write(digest)
		return
	}
	if err := os.WriteFile(*out, digest, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "apidigest:", err)
		os.Exit(1)
	}
}

// modelPath is where botocore keeps the model, below its data directory.
const modelPath = "chime-sdk-meetings/2021-07-15/service-2.json"

// FindModel returns the first service model found: $CARILLON_SERVICE_MODEL,
// then the botocore data directories of the usual Python installations
// (service-2.json or the compressed service-2.json.gz of newer releases).
// It returns "" and the places it looked when there is none.
func FindModel() (path string, tried []string) {
	if p := os.Getenv("CARILLON_SERVICE_MODEL"); p != "" {
		return p, nil
	}
	var dirs []string
	for _, pattern := range []string{
		"/usr/lib/python3/dist-packages/botocore/data",
		"/usr/local/lib/python3*/dist-packages/botocore/data",
		"/usr/local/lib/python3*/site-packages/botocore/data",
		"/usr/lib/python3*/site-packages/botocore/data",
	} {
		dirs = append(dirs, globDirs(pattern)...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, globDirs(home+"/.local/lib/python3*/site-packages/botocore/data")...)
	}
	for _, d := range dirs {
		for _, name := range []string{d + "/" + modelPath, d + "/" + modelPath + ".gz"} {
			tried = append(tried, name)
			if _, err := os.Stat(name); err == nil {
				return name, tried
			}
		}
	}
	if len(tried) == 0 {
		tried = []string{"$CARILLON_SERVICE_MODEL", "botocore data directories (none installed)"}
	}
	return "", tried
}

func globDirs(pattern string) []string {
	if !strings.Contains(pattern, "*") {
		return []string{pattern}
	}
	i := strings.Index(pattern, "*")
	dir := pattern[:strings.LastIndex(pattern[:i], "/")]
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	prefix := pattern[len(dir)+1 : i]
	rest := pattern[i+1:]
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, dir+"/"+e.Name()+rest)
		}
	}
	return out
}

// ReadModel reads a model file, decompressing a .gz one.
func ReadModel(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return io.ReadAll(zr)
}

// Digest turns the text of service-2.json into the digest's text.
func Digest(modelJSON []byte) ([]byte, error) {
	root, err := parse(modelJSON)
	if err != nil {
		return nil, err
	}
	shapes, _ := root.get("shapes").(*object)
	ops, _ := root.get("operations").(*object)
	d := &digester{shapes: shapes, ops: ops}
	if d.shapes == nil || d.ops == nil {
		return nil, errors.New("no operations or shapes: not a service model")
	}
	out := &object{}
	out.set("$service", root.get("metadata"))
	errs := &object{}
	for _, name := range d.shapes.keys {
		s := d.shapes.vals[name].(*object)
		if s.get("exception") != nil {
			errs.set(name, d.exception(s))
		}
	}
	out.set("$errors", errs)
	for _, name := range d.ops.keys {
		op, err := d.operation(d.ops.vals[name].(*object))
		if err != nil {
			return nil, fmt.Errorf("operation %s: %w", name, err)
		}
		out.set(name, op)
	}
	var b bytes.Buffer
	write(&b, out, 0)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

type digester struct {
	shapes, ops *object
}

func (d *digester) shape(name string) (*object, error) {
	s, ok := d.shapes.vals[name].(*object)
	if !ok {
		return nil, fmt.Errorf("no shape %s", name)
	}
	return s, nil
}

// exception is an entry of "$errors".
func (d *digester) exception(s *object) *object {
	e := &object{}
	status := json.Number("400")
	if h, ok := s.get("error").(*object); ok && h.get("httpStatusCode") != nil {
		status = h.get("httpStatusCode").(json.Number)
	}
	e.set("httpStatusCode", status)
	fault := "client"
	if s.get("fault") == true {
		fault = "server"
	}
	e.set("fault", fault)
	members := &object{}
	if err := d.flatten(members, s, "", false); err == nil {
		e.set("members", members)
	}
	return e
}

// operation is one operation's entry.
func (d *digester) operation(op *object) (*object, error) {
	h, _ := op.get("http").(*object)
	if h == nil {
		return nil, errors.New("no http binding")
	}
	uri, _ := h.get("requestUri").(string)
	path, literal, hasLiteral := strings.Cut(uri, "?")
	httpEntry := &object{}
	httpEntry.set("method", h.get("method"))
	httpEntry.set("requestUri", uri)
	httpEntry.set("path", path)
	if hasLiteral {
		httpEntry.set("queryLiteral", literal)
	} else {
		httpEntry.set("queryLiteral", nil)
	}
	code := json.Number("200")
	if c, ok := h.get("responseCode").(json.Number); ok {
		code = c
	}
	httpEntry.set("responseCode", code)

	out := &object{}
	out.set("$http", httpEntry)
	var errNames []any
	if list, ok := op.get("errors").([]any); ok {
		for _, e := range list {
			errNames = append(errNames, e.(*object).get("shape"))
		}
	}
	out.set("$errors", errNames)
	if o, ok := op.get("output").(*object); ok {
		s, err := d.shape(o.get("shape").(string))
		if err != nil {
			return nil, err
		}
		members := &object{}
		if err := d.flatten(members, s, "", true); err != nil {
			return nil, err
		}
		out.set("$output", members)
	} else {
		out.set("$output", nil)
	}
	if in, ok := op.get("input").(*object); ok {
		s, err := d.shape(in.get("shape").(string))
		if err != nil {
			return nil, err
		}
		if err := d.flatten(out, s, "", false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// flatten adds an entry for each member of the structure s, depth first,
// under the path prefix; output members are all in the body.
func (d *digester) flatten(out *object, s *object, prefix string, output bool) error {
	members, _ := s.get("members").(*object)
	if members == nil {
		return nil
	}
	required := map[string]bool{}
	if list, ok := s.get("required").([]any); ok {
		for _, r := range list {
			required[r.(string)] = true
		}
	}
	for _, name := range members.keys {
		ref := members.vals[name].(*object)
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		location, locationName := "body", ""
		if !output {
			if l, ok := ref.get("location").(string); ok {
				location = l
				locationName, _ = ref.get("locationName").(string)
			}
		}
		if err := d.member(out, path, ref, location, locationName, required[name], output); err != nil {
			return err
		}
	}
	return nil
}

// member adds the entry of one member (and of what it contains); ref is the
// member's reference in its structure (or a list's "member"). The
// constraints are the shape's, idempotencyToken the reference's.
func (d *digester) member(out *object, path string, ref *object, location, locationName string, required, output bool) error {
	shapeName, _ := ref.get("shape").(string)
	s, err := d.shape(shapeName)
	if err != nil {
		return err
	}
	typ, _ := s.get("type").(string)
	e := &object{}
	e.set("location", location)
	e.set("required", required)
	e.set("type", typ)
	e.set("shape", shapeName)
	if locationName != "" {
		e.set("locationName", locationName)
	}
	for _, k := range []string{"min", "max", "pattern", "enum", "sensitive"} {
		if v := s.get(k); v != nil {
			e.set(k, v)
		}
	}
	if v := ref.get("idempotencyToken"); v != nil {
		e.set("idempotencyToken", v)
	}
	var element *object
	if typ == "list" {
		element, _ = s.get("member").(*object)
		if element == nil {
			return fmt.Errorf("list shape %s has no member", shapeName)
		}
		e.set("member", element.get("shape"))
	}
	out.set(path, e)
	switch typ {
	case "structure":
		return d.flatten(out, s, path, output)
	case "list":
		return d.member(out, path+"[]", element, location, "", true, output)
	}
	return nil
}

// ---- an order-keeping JSON tree ----

// object is a JSON object that keeps its keys in order.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) get(k string) any {
	if o == nil {
		return nil
	}
	return o.vals[k]
}

// parse decodes JSON into *object, []any, string, json.Number, bool and nil.
func parse(b []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*object)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return o, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(k.(string), v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// write writes v indented by one space per level, as Python's
// json.dumps(v, indent=1) does (": " after keys, non-ASCII escaped).
func write(b *bytes.Buffer, v any, level int) {
	switch t := v.(type) {
	case *object:
		if len(t.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range t.keys {
			b.WriteString(strings.Repeat(" ", level+1))
			writeString(b, k)
			b.WriteString(": ")
			write(b, t.vals[k], level+1)
			if i < len(t.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat(" ", level) + "}")
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range t {
			b.WriteString(strings.Repeat(" ", level+1))
			write(b, e, level+1)
			if i < len(t)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat(" ", level) + "]")
	case string:
		writeString(b, t)
	case json.Number:
		b.WriteString(t.String())
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case nil:
		b.WriteString("null")
	default:
		panic(fmt.Sprintf("apidigest: cannot write %T", v))
	}
}

// writeString writes a JSON string as Python's json module does with
// ensure_ascii: short escapes for the usual controls, \uXXXX (UTF-16) for
// other controls and everything beyond ASCII.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || r > 0x7f && r <= 0xffff:
				fmt.Fprintf(b, `\u%04x`, r)
			case r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
