package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// cliConfig is the user's haul settings, kept in $XDG_CONFIG_HOME/haul/config.yaml.
type cliConfig struct {
	// Project is the default for -p/--project.
	Project string `json:"project,omitempty"`
}

// configPath is $XDG_CONFIG_HOME/haul/config.yaml, or ~/.config/haul/config.yaml.
func configPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the config directory: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "haul", "config.yaml"), nil
}

func loadConfig() (*cliConfig, error) {
	p, err := configPath()
	if err != nil {
		return nil, err
	}
	c := &cliConfig{}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return c, nil
}

func saveConfig(c *cliConfig) (string, error) {
	p, err := configPath()
	if err != nil {
		return "", err
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", p, err)
	}
	return p, nil
}

// newConfigCommand builds `haul config`.
func newConfigCommand(g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or change the CLI's settings (default project)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "set-project NAME",
		Short: "Make NAME the default project for -p/--project",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if errs := validation.IsDNS1123Label(args[0]); len(errs) > 0 {
				return fmt.Errorf("invalid project name %q: %s", args[0], errs[0])
			}
			c, err := loadConfig()
			if err != nil {
				return err
			}
			c.Project = args[0]
			p, err := saveConfig(c)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "default project set to %q (%s)\n", args[0], p)
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "view",
		Short: "Print the settings in effect: config file, default project, kubeconfig context",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := configPath()
			if err != nil {
				return err
			}
			c, err := loadConfig()
			if err != nil {
				return err
			}
			project := c.Project
			if g.Project != "" {
				project = g.Project + " (from --project)"
			}
			if project == "" {
				project = "<none>"
			}
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			if g.Kubeconfig != "" {
				rules.ExplicitPath = g.Kubeconfig
			}
			ctxName, server := "<none>", "<none>"
			if raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
				&clientcmd.ConfigOverrides{CurrentContext: g.Context}).RawConfig(); err == nil {
				ctxName = raw.CurrentContext
				if g.Context != "" {
					ctxName = g.Context
				}
				if kc, ok := raw.Contexts[ctxName]; ok {
					if cl, ok := raw.Clusters[kc.Cluster]; ok {
						server = cl.Server
					}
				}
				if ctxName == "" {
					ctxName = "<none>"
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "config file: %s\nproject:     %s\ncontext:     %s\nserver:      %s\n", p, project, ctxName, server)
			return err
		},
	})
	return cmd
}
