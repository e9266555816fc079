// Package serve is reqprof's framework-neutral delivery core: what every
// way of profiling a unit of work on a server shares, whatever carries the
// work (net/http, gin, echo, gRPC, a job queue).
//
// A [Core] admits units (concurrency and rate limits), starts and ends their
// captures, bounds how long one may run, stores the profiles with their
// metadata, keeps the set of profiles still being extracted (so a UI can
// wait for one), remembers why a profile was not stored, and calls an
// OnProfile hook. It never sees a request: adapters decide who may profile
// (authorization is theirs), name the unit, and describe its outcome as
// attributes (the well-known keys are in package profile).
//
// An adapter's shape:
//
//	if why := core.Admit(); why != "" { /* run unprofiled, say why */ }
//	u, err := core.Begin(ctx, serve.Info{Name: "GET /users/{id}"})
//	if err != nil { /* run unprofiled */ }
//	defer func() { u.End(serve.Info{Attrs: outcome}) }() // runs on panic and Goexit too
//	err = u.Run(func(ctx context.Context) error { return handle(ctx) })
//
// Slow-request capture begins every unit with [Core.BeginSlow] instead,
// and keeps only the slow ones (and those per-route sampling takes): an
// adapter ends such a unit with [Unit.EndFunc], whose description is made
// only for a kept unit, so that the many fast ones pay for none of it.
package serve
