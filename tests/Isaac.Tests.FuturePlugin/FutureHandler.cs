using Isaac.Plugins;

namespace Isaac.Tests.FuturePlugin;

public sealed class FutureHandler : ICommandHandler
{
    public Task<string> HandleAsync(string request, CancellationToken cancellationToken) => Task.FromResult("from the future");
}
