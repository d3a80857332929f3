package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

// A config file holds flags by name, in YAML or TOML (by its extension):
//
//	# danmu.yaml
//	ws-addr: 0.0.0.0:7070
//	redis: [10.0.0.5:6379, 10.0.0.6:6379]
//	drain-period: 20s
//
// Precedence, highest first: the command line, DANMU_* variables, the file,
// the defaults. One file may serve every role of a fleet: a key that is a
// flag of another command (ws-addr for danmu ingest) is skipped, but a key
// that is no flag of any command is an error, and so is a DANMU_* variable
// that names none (a typo would otherwise be silently ignored).

// configFlag names the file; it is read before the other flags, from the
// command line or DANMU_CONFIG.
const configFlag = "config"

// configPath returns the config file args or the environment name, or "".
func configPath(args []string) string {
	for i, arg := range args {
		if arg == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || name != configFlag {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return os.Getenv(envName(configFlag))
}

// applyConfigFile sets the flags of fs that the file at path names.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageError{fmt.Errorf("--config: %w", err)}
	}
	var values map[string]any
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		err = yaml.Unmarshal(data, &values)
	case ".toml":
		err = toml.Unmarshal(data, &values)
	default:
		return usageError{fmt.Errorf("--config %s: want a .yaml, .yml or .toml file", path)}
	}
	if err != nil {
		return usageError{fmt.Errorf("--config %s: %w", path, err)}
	}
	known := knownFlags()
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !known[name] || name == configFlag {
			return usageError{fmt.Errorf("--config %s: unknown key %q (keys are flag names, such as ws-addr)", path, name)}
		}
		if fs.Lookup(name) == nil {
			continue // a flag of another command
		}
		value, err := configValue(values[name])
		if err == nil {
			err = fs.Set(name, value)
		}
		if err != nil {
			return usageError{fmt.Errorf("--config %s: %s: %w", path, name, err)}
		}
	}
	return nil
}

// configValue turns a value of the file into a flag's text: lists become
// comma-separated, like the flags that take several values.
func configValue(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case []any:
		parts := make([]string, len(v))
		for i, item := range v {
			s, err := configValue(item)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		return "", errors.New("a table is not a flag value")
	}
	return fmt.Sprint(v), nil
}

// checkEnvironment refuses DANMU_* variables that name no flag of any
// command.
func checkEnvironment() error {
	known := knownFlags()
	names := make(map[string]bool, len(known))
	for name := range known {
		names[envName(name)] = true
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "DANMU_") && !names[name] {
			return usageError{fmt.Errorf("%s names no flag of danmu (see danmu <command> --help)", name)}
		}
	}
	return nil
}

// knownFlags returns the names of the flags of every command.
func knownFlags() map[string]bool {
	known := make(map[string]bool)
	for name, r := range map[string]roles{"serve": {edge: true, ingest: true}, "edge": {edge: true}, "ingest": {ingest: true}} {
		commandFlags(name, r, new(options)).VisitAll(func(f *flag.Flag) { known[f.Name] = true })
	}
	tokenFlags(new(options), new(tokenOptions)).VisitAll(func(f *flag.Flag) { known[f.Name] = true })
	known[configFlag] = true
	return known
}
