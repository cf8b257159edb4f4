using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Isaac.Core.Dispatch;
using Isaac.Core.Hub;
using Isaac.Core.Queue;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Devices;

/// <summary>Runs a command that another device routed here; the origin is the sender's device name.</summary>
internal delegate Task<CommandResult> RoutedRunner(string text, string sender, CancellationToken cancellationToken);

/// <summary>
/// Keeps this device connected to the hub (<c>isaac agent</c>, or inside an interactive shell): receives
/// assignments, persists each before acknowledging it, runs it through the dispatcher under the remote tier
/// policy, and reports the result — now, or when the hub is back.
/// </summary>
internal sealed class DeviceAgent(AgentOptions options, AgentStore store, RoutedRunner run, ILogger<DeviceAgent>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<DeviceAgent>.Instance;
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private AgentChannel? _connection;

    /// <summary>Connects, serves and reconnects with back-off until <paramref name="cancellationToken"/> fires; owns the store from then on.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Recover(cancellationToken);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var socket = new ClientWebSocket();
                socket.Options.SetRequestHeader("Authorization", "Bearer " + options.Token);
                socket.Options.KeepAliveInterval = options.Heartbeat;
                socket.Options.KeepAliveTimeout = options.Heartbeat * 2;
                await socket.ConnectAsync(AgentUri(options.Hub), cancellationToken).ConfigureAwait(false);
                failures = 0;
                _logger.LogInformation("Connected to the hub at {Hub}", options.Hub);
                await ServeAsync(new AgentChannel(socket), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException or JsonException && !cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning("Hub connection failed or ended: {Reason}", ex.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            _connection = null;
            var delay = Backoff.Delay(++failures, options.MinReconnect, options.MaxReconnect, Random.Shared);
            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(_running.Values).ConfigureAwait(false);
        store.Dispose();
    }

    // After a restart: run what was received but never started; what was running when the process died
    // is reported failed rather than run again (it may have had effects already).
    private void Recover(CancellationToken cancellationToken)
    {
        foreach (var interrupted in store.InState("running"))
        {
            store.Complete(interrupted.Id, CommandResponse.Fail($"The agent on this device stopped while '{interrupted.Text}' was running; it was not run again."), succeeded: false);
        }

        foreach (var received in store.InState("received"))
        {
            Start(received, cancellationToken);
        }
    }

    private async Task ServeAsync(AgentChannel connection, CancellationToken cancellationToken)
    {
        _connection = connection;
        await connection.SendAsync(new AgentMessage { Type = "hello", Capacity = options.Capacity, Holding = [.. _running.Keys] }, cancellationToken).ConfigureAwait(false);
        foreach (var done in store.Unreported())
        {
            await ReportAsync(done, cancellationToken).ConfigureAwait(false);
        }

        while (await connection.ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            switch (message)
            {
                case { Type: "assign", Id: { } id, Text: { } text, Sender: { } sender }:
                    await AssignedAsync(id, text, sender, cancellationToken).ConfigureAwait(false);
                    break;
                case { Type: "ack", Id: { } id }:
                    store.MarkReported(id);
                    break;
            }
        }
    }

    private async Task AssignedAsync(string id, string text, string sender, CancellationToken cancellationToken)
    {
        if (store.Get(id) is { } known)
        {
            // Sent again (the hub never heard our answer): answer again, never run again.
            await (known.Status == "done"
                ? ReportAsync(known, cancellationToken)
                : SendAsync(new AgentMessage { Type = "accepted", Id = id }, cancellationToken)).ConfigureAwait(false);
            return;
        }

        if (_running.Count >= options.Capacity)
        {
            await SendAsync(new AgentMessage { Type = "rejected", Id = id, Reason = $"busy: {_running.Count} command(s) already running (capacity {options.Capacity})" }, cancellationToken).ConfigureAwait(false);
            return;
        }

        store.Receive(id, sender, text);
        FaultInjection.At("after-persist");
        await SendAsync(new AgentMessage { Type = "accepted", Id = id }, cancellationToken).ConfigureAwait(false);
        Start(new Assignment(id, sender, text, "received", null, false, false), cancellationToken);
    }

    private void Start(Assignment assignment, CancellationToken cancellationToken)
    {
        // The slot is taken before the work starts: a fast command must not finish (and free its slot)
        // before the slot was even recorded, or the count of running commands would drift upwards.
        var slot = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _running[assignment.Id] = slot.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                store.MarkRunning(assignment.Id);
                await SendAsync(new AgentMessage { Type = "running", Id = assignment.Id }, cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Running #{Id} from {Sender}: {Text}", assignment.Id, assignment.Sender, assignment.Text);
                var result = await run(assignment.Text, assignment.Sender, cancellationToken).ConfigureAwait(false);
                var response = new CommandResponse
                {
                    Status = result.Status,
                    Stdout = result.Stdout,
                    Stderr = result.Stderr,
                    Kind = result.Kind,
                    Meta = result.Error is { } error ? new Dictionary<string, string>(result.Meta) { ["error"] = error.ToWire() } : result.Meta,
                    Table = result.Table,
                    ExitCode = result.ExitCode,
                };
                store.Complete(assignment.Id, response, result.Succeeded);
                FaultInjection.At("after-run");

                // The slot is free before the hub hears "completed": it assigns the next command on that message.
                _running.TryRemove(assignment.Id, out _);
                if (store.Get(assignment.Id) is { } done)
                {
                    await ReportAsync(done, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Shutting down; a received or running row is dealt with at the next start.
            }
            finally
            {
                _running.TryRemove(assignment.Id, out _);
                slot.TrySetResult();
            }
        }, CancellationToken.None);
    }

    private Task ReportAsync(Assignment done, CancellationToken cancellationToken) =>
        SendAsync(new AgentMessage
        {
            Type = done.Succeeded ? "completed" : "failed",
            Id = done.Id,
            Result = done.Result,
            Reason = done.Succeeded ? null : done.Result?.Stderr,
        }, cancellationToken);

    // Sending while disconnected is not an error: what matters is stored and goes out on reconnect.
    private async Task SendAsync(AgentMessage message, CancellationToken cancellationToken)
    {
        if (_connection is not { } connection)
        {
            return;
        }

        try
        {
            await connection.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            _logger.LogInformation("Could not send {Type} for #{Id} now: {Reason}", message.Type, message.Id, ex.Message);
        }
    }

    private static Uri AgentUri(Uri hub)
    {
        var builder = new UriBuilder(new Uri(hub, "/v1/agent")) { Scheme = hub.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        return builder.Uri;
    }
}

/// <summary>
/// Test-only crash points: with <c>ISAAC_AGENT_FAULT=&lt;point&gt;</c> the process kills itself (SIGKILL) there,
/// exactly as <c>kill -9</c> would, so tests can prove recovery from that instant.
/// </summary>
internal static class FaultInjection
{
    private static readonly string? _point = Environment.GetEnvironmentVariable("ISAAC_AGENT_FAULT");

    public static void At(string point)
    {
        if (_point == point)
        {
            Process.GetCurrentProcess().Kill();
        }
    }
}
