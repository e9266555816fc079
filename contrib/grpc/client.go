package grpcprof

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/reqprof/reqprof/outcall"
)

// RegionName is the frame name of an outgoing call to method.
func RegionName(method string) string { return "gRPC: " + method }

// UnaryClientInterceptor returns a client interceptor that runs each call
// made with a profiled context in a region named RegionName(method).
// Calls made with other contexts go straight to the invoker.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !outcall.Profiled(ctx) {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		defer outcall.StartRegion(ctx, RegionName(method)).End()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor returns a client interceptor that, for a stream
// opened with a profiled context, runs the opening and each SendMsg,
// RecvMsg, Header and CloseSend in a region named RegionName(method).
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if !outcall.Profiled(ctx) {
			return streamer(ctx, desc, cc, method, opts...)
		}
		name := RegionName(method)
		r := outcall.StartRegion(ctx, name)
		cs, err := streamer(ctx, desc, cc, method, opts...)
		r.End()
		if err != nil {
			return cs, err
		}
		return &clientStream{ClientStream: cs, ctx: ctx, name: name}, nil
	}
}

type clientStream struct {
	grpc.ClientStream
	ctx  context.Context
	name string
}

func (s *clientStream) region() func() {
	if !outcall.Profiled(s.ctx) {
		return func() {}
	}
	return outcall.StartRegion(s.ctx, s.name).End
}

func (s *clientStream) SendMsg(m any) error {
	defer s.region()()
	return s.ClientStream.SendMsg(m)
}

func (s *clientStream) RecvMsg(m any) error {
	defer s.region()()
	return s.ClientStream.RecvMsg(m)
}

func (s *clientStream) Header() (metadata.MD, error) {
	defer s.region()()
	return s.ClientStream.Header()
}

func (s *clientStream) CloseSend() error {
	defer s.region()()
	return s.ClientStream.CloseSend()
}
