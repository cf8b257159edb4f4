namespace Isaac.Plugins;

/// <summary>A contract 2.0 that this host does not provide.</summary>
public interface ICommandHandler
{
    Task<string> HandleAsync(string request, CancellationToken cancellationToken);
}
