using Isaac.Plugins;

namespace Isaac.Benchmarks.Plugin;

public sealed class NoopHandler : ICommandHandler
{
    private static readonly Task<CommandResponse> _ok = Task.FromResult(CommandResponse.Ok("ok"));

    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken) => _ok;
}
