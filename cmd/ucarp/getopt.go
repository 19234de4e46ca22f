package main

import (
	"fmt"
	"strings"
)

// option is one entry of the option table, as in getopt_long's struct option.
type option struct {
	long   string
	short  byte // 0 for long-only options
	hasArg bool
	// ext marks the options that ucarp does not have. Abbreviations are
	// resolved among ucarp's options first, so that every abbreviation that
	// works with ucarp (--m for --mcastip, --no for --nomcast) keeps its
	// meaning; an extension is matched by a prefix only when no ucarp option
	// matches it.
	ext bool
	// optArg marks an optional argument (getopt's optional_argument):
	// long-only, given only as --opt=value.
	optArg bool
}

// parsed is one option found on the command line.
type parsed struct {
	opt   *option
	value string
	name  string // as written: "-v" or "--vhid"
}

// getoptError is a getopt diagnostic, worded as glibc 2.36 words it.
type getoptError string

func (e getoptError) Error() string { return string(e) }

// getoptLong parses args (without the program name) with GNU getopt_long
// semantics: long options by unique prefix, "--opt=value" and "--opt value",
// short options clustered ("-PzB") with attached values ("-v10"), options
// and operands in any order, "--" ending the options, and "-" an operand.
// With posixlyCorrect the first operand ends the options, as with glibc's
// POSIXLY_CORRECT. prog prefixes the messages, as argv[0] does in glibc.
func getoptLong(prog string, args []string, table []option, posixlyCorrect bool) (opts []parsed, operands []string, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return opts, append(operands, args[i+1:]...), nil
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")
			o, err := lookupLong(prog, name, arg, table)
			if err != nil {
				return opts, operands, err
			}
			p := parsed{opt: o, name: "--" + o.long}
			switch {
			case o.optArg:
				p.value = value
			case !o.hasArg && hasValue:
				return opts, operands, getoptError(fmt.Sprintf("%s: option '--%s' doesn't allow an argument", prog, o.long))
			case o.hasArg && hasValue:
				p.value = value
			case o.hasArg:
				if i+1 >= len(args) {
					return opts, operands, getoptError(fmt.Sprintf("%s: option '--%s' requires an argument", prog, o.long))
				}
				i++
				p.value = args[i]
			}
			opts = append(opts, p)
		case len(arg) > 1 && arg[0] == '-':
			for j := 1; j < len(arg); j++ {
				o := lookupShort(arg[j], table)
				if o == nil {
					return opts, operands, getoptError(fmt.Sprintf("%s: invalid option -- '%c'", prog, arg[j]))
				}
				p := parsed{opt: o, name: "-" + string(arg[j])}
				if o.hasArg {
					if j+1 < len(arg) {
						p.value = arg[j+1:]
					} else if i+1 < len(args) {
						i++
						p.value = args[i]
					} else {
						return opts, operands, getoptError(fmt.Sprintf("%s: option requires an argument -- '%c'", prog, arg[j]))
					}
					opts = append(opts, p)
					break
				}
				opts = append(opts, p)
			}
		default:
			if posixlyCorrect {
				return opts, append(operands, args[i:]...), nil
			}
			operands = append(operands, arg)
		}
	}
	return opts, operands, nil
}

func lookupShort(c byte, table []option) *option {
	for i := range table {
		if table[i].short != 0 && table[i].short == c {
			return &table[i]
		}
	}
	return nil
}

// lookupLong finds a long option by exact name or unique prefix, ucarp's
// options first (see option.ext).
func lookupLong(prog, name, arg string, table []option) (*option, error) {
	for i := range table {
		if table[i].long == name {
			return &table[i], nil
		}
	}
	for _, ext := range []bool{false, true} {
		var matches []*option
		for i := range table {
			if table[i].ext == ext && strings.HasPrefix(table[i].long, name) {
				matches = append(matches, &table[i])
			}
		}
		switch {
		case len(matches) == 1:
			return matches[0], nil
		case len(matches) > 1:
			var b strings.Builder
			fmt.Fprintf(&b, "%s: option '%s' is ambiguous; possibilities:", prog, arg) // glibc echoes "=value" too
			for _, m := range matches {
				fmt.Fprintf(&b, " '--%s'", m.long)
			}
			return nil, getoptError(b.String())
		}
	}
	return nil, getoptError(fmt.Sprintf("%s: unrecognized option '%s'", prog, arg))
}
