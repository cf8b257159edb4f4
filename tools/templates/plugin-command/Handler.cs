using Isaac.Plugins;

namespace Hello;

/// <summary>Serves the command: Isaac calls it with the parsed request, in the plugin's own load context.</summary>
public sealed class Handler : ICommandHandler
{
    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        var who = request.Arguments.GetValueOrDefault("who", "world");
        var text = $"Greetings, {who}!";
        if (request.Args.Contains("--shout"))
        {
            text = text.ToUpperInvariant();
        }

        return Task.FromResult(new CommandResponse { Stdout = text + "\n" });
    }
}
