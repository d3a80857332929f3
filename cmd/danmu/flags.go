package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// envName returns the environment variable that sets flag name.
func envName(name string) string {
	return "DANMU_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// parseFlags applies the config file (--config or DANMU_CONFIG) to fs,
// then the DANMU_* environment variables, then the command line, so that a
// flag given on the command line wins over the environment, and both over
// the file (configfile.go).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.String(configFlag, "", "read flags from this YAML (.yaml, .yml) or TOML (.toml) file, keys named as the flags; "+
		"the environment and the command line win over it")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: danmu %s [flags]\n\nFlags (each also read from the environment variable shown):\n", fs.Name())
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s (%s)\n    \t%s (default %q)\n", f.Name, envName(f.Name), f.Usage, f.DefValue)
		})
	}
	if path := configPath(args); path != "" {
		if err := applyConfigFile(fs, path); err != nil {
			return err
		}
	}
	if err := checkEnvironment(); err != nil {
		return err
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = usageError{fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)}
			}
		}
	})
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
