package health

import (
	"errors"
	"testing"
)

// FuzzParseFlag checks that ParseFlag never panics, that every problem it
// reports is an *Error of the flag as written, and that a spec it accepts
// keeps the rules of a Spec and reads back from its String. Seeds:
// testdata/fuzz/FuzzParseFlag, one commented value per file.
func FuzzParseFlag(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseFlag(s)
		if err != nil {
			if spec != (Spec{}) {
				t.Fatalf("a spec with an error: %+v, %v", spec, err)
			}
			errs := []error{err}
			if je, ok := err.(interface{ Unwrap() []error }); ok {
				errs = je.Unwrap()
			}
			for _, e := range errs {
				var pe *Error
				if !errors.As(e, &pe) || pe.Probe != s {
					t.Fatalf("%v is not an *Error of %q", e, s)
				}
			}
			return
		}
		if spec.Type < TypeICMP || spec.Type > TypeInterface || spec.Target == "" || spec.Name == "" ||
			spec.Interval < MinInterval || spec.Interval > MaxInterval ||
			spec.Timeout < MinTimeout || spec.Timeout > spec.Interval ||
			spec.Rise < 1 || spec.Rise > MaxCount || spec.Fall < 1 || spec.Fall > MaxCount ||
			spec.Weight < 0 || spec.Weight > MaxWeight ||
			(spec.Expect != 0) != (spec.Type == TypeHTTP || spec.Type == TypeHTTPS) ||
			spec.Insecure && spec.Type != TypeHTTPS {
			t.Fatalf("%q gives a spec that breaks the rules: %+v", s, spec)
		}
		again, err := ParseFlag(spec.String())
		if err != nil || again != spec {
			t.Fatalf("%q: %q reads back as %+v, %v; want %+v", s, spec.String(), again, err, spec)
		}
	})
}
