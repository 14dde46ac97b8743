package v1alpha1_test

import (
	"os"
	"testing"

	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }
