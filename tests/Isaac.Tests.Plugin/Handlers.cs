using Isaac.Plugins;
using Newtonsoft.Json;

namespace Isaac.Tests.Plugin;

/// <summary>Reports which Newtonsoft.Json it sees, and uses it, to prove isolation from the host's copy.</summary>
public sealed class VersionHandler : ICommandHandler
{
    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        var version = typeof(JsonConvert).Assembly.GetName().Version?.ToString() ?? "?";
        var echoed = JsonConvert.SerializeObject(new { request.Command, request.Args });
        return Task.FromResult(new CommandResponse
        {
            Stdout = echoed,
            Meta = new Dictionary<string, string> { ["newtonsoft"] = version, ["commands"] = context.Commands.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });
    }
}

public sealed class ThrowingHandler : ICommandHandler
{
    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("the plugin broke on purpose");
}

/// <summary>Ignores its cancellation token entirely.</summary>
public sealed class StubbornHandler : ICommandHandler
{
    public async Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None);
        return CommandResponse.Ok("too late");
    }
}

public sealed class FloodHandler : ICommandHandler
{
    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken) =>
        Task.FromResult(CommandResponse.Ok(new string('x', 5 * 1024 * 1024)));
}

/// <summary>Roots its own load context from the host's (a static event handler), so unloading it leaks.</summary>
public sealed class LeakyHandler : ICommandHandler
{
    public LeakyHandler() => AppDomain.CurrentDomain.ProcessExit += OnExit;

    public Task<CommandResponse> HandleAsync(CommandRequest request, HandlerContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new CommandResponse { Stdout = "leaky" });

    private void OnExit(object? sender, EventArgs e)
    {
    }
}
