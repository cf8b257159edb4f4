namespace Isaac.Plugins;

/// <summary>A meta-command handler that a plugin assembly exports; the host creates it with its parameterless constructor.</summary>
public interface ICommandHandler
{
    /// <summary>Runs the command and returns its response; the token fires at the manifest's timeout or when the user cancels.</summary>
    Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken);
}
