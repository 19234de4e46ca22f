package health

import (
	"fmt"
	"strconv"
	"strings"
)

// flagOptions are the options of the command-line form, in the order
// String writes them.
var flagOptions = []string{"interval", "timeout", "rise", "fall", "weight", "expect", "insecure", "name"}

// ParseFlag reads a probe written on the command line,
//
//	TYPE:TARGET[,interval=D][,timeout=D][,rise=N][,fall=N][,weight=N][,expect=N][,insecure=BOOL][,name=NAME]
//
// with the keys, ranges and defaults of the config file's table. The
// target ends at the first comma, so a target with a comma in it can only
// be written in the config file. A probe is named by its name option, or
// else by TYPE:TARGET as written. ParseFlag returns every problem of s at
// once, as an errors.Join of *Error values whose Probe is s.
func ParseFlag(s string) (Spec, error) {
	head, rest, hasOpts := strings.Cut(s, ",")
	typ, target, ok := strings.Cut(head, ":")
	if !ok {
		return Spec{}, &Error{Probe: s, Msg: fmt.Sprintf("%q is not TYPE:TARGET (TYPE %s)", head, typeList)}
	}
	t := Table{Type: typ, Target: target}
	name := strings.TrimSpace(head)
	var ps []problem
	seen := map[string]bool{}
	var opts []string
	if hasOpts {
		opts = strings.Split(rest, ",")
	}
	for _, opt := range opts {
		k, v, ok := strings.Cut(opt, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			ps = append(ps, problem{strings.TrimSpace(opt), fmt.Sprintf("%q is not KEY=VALUE", opt)})
			continue
		}
		if seen[k] {
			ps = append(ps, problem{k, "written twice"})
			continue
		}
		seen[k] = true
		if p := t.setFlagOption(k, v, &name); p != nil {
			p.key = k
			ps = append(ps, *p)
		}
	}
	spec, more := t.spec(name)
	if ps = append(ps, more...); len(ps) > 0 {
		return Spec{}, joinProblems(s, ps)
	}
	return spec, nil
}

// setFlagOption reads one option of the command-line form into t (or
// name), or says what is wrong with it.
func (t *Table) setFlagOption(k, v string, name *string) *problem {
	num := func(p **int) *problem {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &problem{msg: fmt.Sprintf("%q is not an integer", v)}
		}
		*p = &n
		return nil
	}
	switch k {
	case "interval":
		t.Interval = &v
		return nil
	case "timeout":
		t.Timeout = &v
		return nil
	case "rise":
		return num(&t.Rise)
	case "fall":
		return num(&t.Fall)
	case "weight":
		return num(&t.Weight)
	case "expect":
		return num(&t.Expect)
	case "insecure":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return &problem{msg: fmt.Sprintf("%q is not true or false", v)}
		}
		t.Insecure = &b
		return nil
	case "name":
		*name = v
		return nil
	}
	return &problem{msg: fmt.Sprintf("%q is not an option (one of %s)", k, strings.Join(flagOptions, ", "))}
}

// String writes s in the command-line form that ParseFlag reads, every
// setting explicit, and the name when it is not TYPE:TARGET. A spec whose
// target or name holds a comma, which only the config file can write, does
// not read back.
func (s Spec) String() string {
	var b strings.Builder
	head := s.Type.String() + ":" + s.Target
	b.WriteString(head)
	fmt.Fprintf(&b, ",interval=%v,timeout=%v,rise=%d,fall=%d,weight=%d",
		s.Interval, s.Timeout, s.Rise, s.Fall, s.Weight)
	if s.Expect != 0 {
		fmt.Fprintf(&b, ",expect=%d", s.Expect)
	}
	if s.Insecure {
		b.WriteString(",insecure=true")
	}
	if s.Name != head {
		b.WriteString(",name=" + s.Name)
	}
	return b.String()
}
