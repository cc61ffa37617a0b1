package steps

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// What removing a resource from AWS waits for and says while it runs, for clean and for
// `clean --fleet` alike: progress lines through the context, a bounded wait with backoff,
// and a resource already gone counting as removed.

// cleanEnv is what Clean gives its actions through the context: where progress goes, and
// how long to wait.
type cleanEnv struct {
	say  func(string)
	wait time.Duration
}

type cleanEnvKey struct{}

func cleanEnvOf(ctx context.Context) cleanEnv {
	if e, ok := ctx.Value(cleanEnvKey{}).(cleanEnv); ok {
		return e
	}
	return cleanEnv{say: func(string) {}, wait: DefaultCleanWait}
}

// cleanSay shows a progress line of the running clean action.
func cleanSay(ctx context.Context, format string, args ...any) {
	cleanEnvOf(ctx).say(fmt.Sprintf(format, args...))
}

// withCleanSay is ctx with its progress lines going to say instead (the clean's wait stays).
func withCleanSay(ctx context.Context, say func(string)) context.Context {
	env := cleanEnvOf(ctx)
	env.say = say
	return context.WithValue(ctx, cleanEnvKey{}, env)
}

// waitLoop retries try with backoff (0.5 s doubling to 15 s) until it reports done, an
// error, or bound runs out; every retry shows a line with the time left.
func waitLoop(ctx context.Context, bound time.Duration, what string, try func() (bool, error)) (bool, error) {
	env := cleanEnvOf(ctx)
	deadline := time.Now().Add(bound)
	backoff := 500 * time.Millisecond
	for {
		done, err := try()
		if done || err != nil {
			return done, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		step := min(backoff, left)
		env.say(i18n.T("clean.retrying", i18n.Args{"What": what, "In": step.Round(100 * time.Millisecond), "Left": left.Round(time.Second)}))
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(step):
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

// waitDetached waits until the thing no longer lists the certificate: DetachThingPrincipal
// is asynchronous ("it might take several seconds for the detachment to propagate", botocore
// DetachThingPrincipal), and DeleteCertificate/DeleteThing are refused until it has taken effect.
func waitDetached(ctx context.Context, c aws.Client, thing, arn, id string) error {
	done, err := waitLoop(ctx, detachWait, i18n.T("clean.wait.detach", i18n.Args{"Thing": thing}), func() (bool, error) {
		ps, err := c.ListThingPrincipals(ctx, thing)
		if aws.IsKind(err, aws.KindNotFound) {
			return true, nil
		}
		return err == nil && !slices.Contains(ps, arn), err
	})
	if err != nil || done {
		return err
	}
	return i18n.NewError("clean.detach-timeout", i18n.Args{"Thing": thing, "ID": abbrev(id), "Wait": detachWait})
}

// ignoreNotFound counts a resource that is already gone as removed.
func ignoreNotFound(err error) error {
	if aws.IsKind(err, aws.KindNotFound) {
		return nil
	}
	return err
}

// DefaultCleanWait bounds how long clean waits for a policy to become deletable: after a
// DetachPolicy, DeletePolicy is still refused ("it can take up to five minutes after a policy is detached before it's ready to
// be deleted", botocore DeletePolicy). Options.CleanWait (clean --wait) overrides it.
const DefaultCleanWait = 6 * time.Minute

// detachWait bounds the wait for a DetachThingPrincipal, whatever the clean's wait: the
// certificate and the thing cannot be deleted before it has taken effect.
const detachWait = time.Minute
