package pgxtrace_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/sqlprof/pgxtrace"
)

func ExampleConfigure() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	pgxtrace.Configure(cfg.ConnConfig) // before creating the pool
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	// Use pool as usual: in reqprof profiles, its statements appear as
	// "SQL: <statement>" frames.
}

func ExampleConfigure_conn() {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	pgxtrace.Configure(cfg, sqlprof.MaxLen(80))
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
}
