using System.Text;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>Runs a plugin handler in this process with the manifest's deadline and output cap.</summary>
internal sealed class InProcessRunner(PluginCatalog plugins, HandlerContext context) : IHandlerRunner
{
    public async Task<CommandResponse> RunAsync(LoadedCommand command, CommandRequest request, CancellationToken cancellationToken = default)
    {
        var handler = plugins.GetHandler(command);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(command.Timeout);

        CommandResponse? response;
        try
        {
            // WaitAsync: a plugin that ignores its token still cannot hold the shell past the deadline.
            response = await handler.HandleAsync(request, context, stop.Token).WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw HandlerException.TimedOut(command, "the plugin was abandoned");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw HandlerException.PluginThrew(command, ex);
        }

        if (response is null)
        {
            throw HandlerException.PluginReturnedNull(command);
        }

        var cap = command.Manifest.Security.Resources.MaxStdoutKib * 1024;
        if (Encoding.UTF8.GetByteCount(response.Stdout) > cap)
        {
            throw HandlerException.Truncated(command, Truncate(response.Stdout, cap), "the rest was discarded");
        }

        return response;
    }

    private static string Truncate(string text, int maxBytes)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, maxBytes));
    }
}
