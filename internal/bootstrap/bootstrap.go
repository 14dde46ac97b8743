// Package bootstrap installs or upgrades what Haul needs in a cluster before its
// controllers start: the CRDs and the admission policies shipped with them.
package bootstrap

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/haul-dev/haul/charts/haul/crds"
)

// Scheme has what Install reads and writes: CRDs and admission policies.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	return s
}

// Install creates or updates every Haul CRD and policy, then waits until the CRDs are
// Established so that controllers can start watching them at once.
func Install(ctx context.Context, c client.Client) error {
	list, err := crds.CRDs()
	if err != nil {
		return err
	}
	for _, crd := range list {
		if err := upsert(ctx, c, crd); err != nil {
			return fmt.Errorf("installing CRD %s: %w", crd.Name, err)
		}
	}
	pols, binds, err := crds.Policies()
	if err != nil {
		return err
	}
	for _, p := range pols {
		if err := upsert(ctx, c, p); err != nil {
			return fmt.Errorf("installing admission policy %s: %w", p.Name, err)
		}
	}
	for _, b := range binds {
		if err := upsert(ctx, c, b); err != nil {
			return fmt.Errorf("installing admission policy binding %s: %w", b.Name, err)
		}
	}
	for _, crd := range list {
		if err := waitEstablished(ctx, c, crd.Name); err != nil {
			return err
		}
	}
	return nil
}

// upsert creates obj, or replaces the stored one's spec when it already exists.
func upsert(ctx context.Context, c client.Client, obj client.Object) error {
	existing := obj.DeepCopyObject().(client.Object)
	err := c.Get(ctx, client.ObjectKeyFromObject(obj), existing)
	if apierrors.IsNotFound(err) {
		return c.Create(ctx, obj)
	}
	if err != nil {
		return err
	}
	obj.SetResourceVersion(existing.GetResourceVersion())
	return c.Update(ctx, obj)
}

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, nil
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}
