using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>Runs one kind of handler: a plugin in process, or a script out of process.</summary>
internal interface IHandlerRunner
{
    /// <summary>
    /// Runs the command's handler under its manifest's limits. Throws <see cref="HandlerException"/> when the handler
    /// misbehaves, and <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> fires.
    /// </summary>
    Task<CommandResponse> RunAsync(LoadedCommand command, CommandRequest request, CancellationToken cancellationToken = default);
}
