package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/app"
	"github.com/haul-dev/haul/internal/demo"
)

// newDemoCommand builds `haul demo`.
func newDemoCommand(_ *GlobalOptions) *cobra.Command {
	root := &cobra.Command{Use: "demo", Short: "Drive the local demo started by `haul up --demo`"}
	var dataDir string
	release := &cobra.Command{
		Use:   "release [VERSION]",
		Short: "Push the next (or the given) guestbook image version and let it flow to prod",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := demo.LoadState(dataDir)
			if err != nil {
				return err
			}
			if st.RegistryAddr == "" {
				return fmt.Errorf("no demo found in %s: start it with `haul up --demo --data-dir %s`", dataDir, dataDir)
			}
			version := st.NextVersion()
			if len(args) == 1 {
				v, err := semver.StrictNewVersion(args[0])
				if err != nil {
					return fmt.Errorf("VERSION %q is not a semantic version (MAJOR.MINOR.PATCH): %w", args[0], err)
				}
				version = v.String()
			}
			digest, err := demo.PushVersion(st.RegistryAddr, version)
			if err != nil {
				return fmt.Errorf("%w (is `haul up --demo` running on %s?)", err, dataDir)
			}
			st.AddVersion(version)
			if err := st.Save(dataDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s/%s:%s (%s)\n", st.RegistryAddr, demo.ImageRepo, version, digest)
			// Ask the Warehouse to look now instead of at its next interval.
			cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dataDir, "kubeconfig"))
			if err != nil {
				return err
			}
			c, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
			if err != nil {
				return err
			}
			wh := &haulv1.Warehouse{}
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: demo.Project, Name: "guestbook"}, wh); err != nil {
				return fmt.Errorf("warehouse guestbook in project demo: %w", err)
			}
			patch := client.MergeFrom(wh.DeepCopy())
			if wh.Annotations == nil {
				wh.Annotations = map[string]string{}
			}
			wh.Annotations[haulv1.AnnotationRefresh] = time.Now().UTC().Format(time.RFC3339Nano)
			if err := c.Patch(cmd.Context(), wh, patch); err != nil {
				return fmt.Errorf("refreshing warehouse guestbook: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "refreshed warehouse guestbook; watch it with: haul get stages -p demo --kubeconfig %s\n", filepath.Join(dataDir, "kubeconfig"))
			return nil
		},
	}
	release.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data dir of the running `haul up --demo`")
	root.AddCommand(release)
	return root
}
