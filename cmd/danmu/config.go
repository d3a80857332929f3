package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// redacted stands for the value of a secret that is set.
const redacted = "<redacted>"

// isSecret reports whether flag name holds a secret, never printed.
func isSecret(name string) bool {
	return strings.Contains(name, "password") || strings.Contains(name, "secret")
}

// printConfig writes the effective value of every flag of fs, after the
// environment and the command line, as the DANMU_ variable that sets it:
// the output can serve as an environment file. Secrets that are set show
// as <redacted>.
func printConfig(w io.Writer, fs *flag.FlagSet) {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fmt.Fprintf(w, "# danmu %s: effective configuration (command line over DANMU_ environment over --config file over defaults)\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "print-config" {
			return
		}
		value := f.Value.String()
		if isSecret(f.Name) {
			value = ""
			if set[f.Name] {
				value = redacted
			}
		}
		fmt.Fprintf(w, "%s=%s\n", envName(f.Name), quoteEnv(value))
	})
}

// quoteEnv quotes value when an environment file would not read it back
// as it is.
func quoteEnv(value string) string {
	if strings.ContainsAny(value, " \t\n\"'\\$#`") {
		return strconv.Quote(value)
	}
	return value
}
