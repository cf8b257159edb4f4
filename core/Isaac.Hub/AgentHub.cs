using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Isaac.Core.Wire;
using Isaac.Hub.Internal;
using Isaac.Plugins;
using Microsoft.Extensions.Logging;

namespace Isaac.Hub;

/// <summary>
/// Connected device agents (docs/hub-protocol.md): one lease per device, presence by heartbeat deadline, commands
/// handed out in sequence order within the agent's window, and what the agents report recorded.
/// </summary>
internal sealed class AgentHub(HubStore store, HubOptions options, TimeProvider time, ILogger<AgentHub> logger)
{
    private readonly ConcurrentDictionary<string, AgentSession> _leases = new(StringComparer.Ordinal);
    private readonly ChangeSignals _changes = new();

    // When each device's last agent connection ended (absent: not since the hub started), for HolderGrace.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _left = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _started = time.GetUtcNow();

    /// <summary>Whether an agent holds the device's lease.</summary>
    public bool IsOnline(string device) => _leases.ContainsKey(device);

    /// <summary>Long-poll waiters subscribe here before they read a command, so no change slips between read and wait.</summary>
    public ChangeSignals.Subscription Subscribe(string id) => _changes.Subscribe(id);

    /// <summary>Sends new commands to their device if it is connected and has room; otherwise they wait.</summary>
    public async Task OfferAsync(string target, CancellationToken cancellationToken)
    {
        if (_leases.TryGetValue(target, out var session))
        {
            await PumpAsync(session, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes the device's lease, accepts the WebSocket and serves it until it closes, goes silent, or breaks the
    /// protocol. Returns false, having accepted nothing, when another connection holds the lease: a second agent
    /// would race the first for the same commands, so it is refused rather than swapped in.
    /// </summary>
    public async Task<bool> ServeAsync(string device, Func<Task<WebSocket>> accept, CancellationToken cancellationToken)
    {
        var session = new AgentSession(device) { Heartbeat = options.DefaultHeartbeat };
        if (!_leases.TryAdd(device, session))
        {
            logger.LogWarning("Device {Device} is already served; a second agent connection was refused", device);
            return false;
        }

        try
        {
            using var socket = await accept().ConfigureAwait(false);
            await RunSessionAsync(session, socket, cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _leases.TryRemove(KeyValuePair.Create(device, session));
            _left[device] = time.GetUtcNow();
            store.Touch(device);
            logger.LogInformation("Device {Device} is offline", device);
        }
    }

    private async Task RunSessionAsync(AgentSession session, WebSocket socket, CancellationToken cancellationToken)
    {
        var device = session.Device;

        // Presence is a deadline, not the TCP connection: a stopped agent keeps its socket open for ever, so the
        // session ends when nothing at all arrives for two heartbeats. Every message pushes the deadline back.
        using var silence = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, silence.Token);
        session.Attach(socket, options.MaxAgentMessageBytes, ending.Token);
        store.Touch(device);
        logger.LogInformation("Device {Device} connected", device);
        try
        {
            while (true)
            {
                silence.CancelAfter(2 * session.Heartbeat);
                AgentMessage? message;
                try
                {
                    message = await session.ReceiveAsync(ending.Token).ConfigureAwait(false);
                }
                catch (JsonException ex)
                {
                    await RefuseAsync(session, WebSocketCloseStatus.InvalidPayloadData, $"not a JSON agent message: {ex.Message}", ex.Message).ConfigureAwait(false);
                    return;
                }

                if (message is null)
                {
                    logger.LogInformation("Device {Device} closed its connection", device);
                    return;
                }

                if (WireCheck.FromAgent(message) is { } problem)
                {
                    await RefuseAsync(session, WebSocketCloseStatus.PolicyViolation, problem, problem).ConfigureAwait(false);
                    return;
                }

                if (message.Type == "ping" && session.Blocked && WithinHolderGrace(device))
                {
                    // Its hello and the results it owed have arrived, and another store still holds the device's
                    // unfinished commands: give the lease back so that store's agent can connect and finish them.
                    logger.LogWarning("Device {Device}: this agent connection does not hold the device's unfinished commands (another machine with the same token holds them); closing it so their holder can connect", device);
                    await session.CloseAsync(HolderElsewhere, "another agent of this device holds its unfinished commands; try again later").ConfigureAwait(false);
                    return;
                }

                await HandleAsync(session, message, ending.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when ((ex is OperationCanceledException or WebSocketException) && silence.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Device {Device} sent nothing for {Ms} ms (two heartbeats); dropping its connection", device, (int)(2 * session.Heartbeat).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            logger.LogInformation("Device {Device} connection ended: {Reason}", device, ex.Message);
        }
        catch (Exception ex)
        {
            // A bug here must cost one connection, not the hub: the agent reconnects and gets its commands again.
            logger.LogError(ex, "Device {Device} session failed", device);
        }
        finally
        {
            session.Abort();
        }
    }

    private async Task RefuseAsync(AgentSession session, WebSocketCloseStatus status, string reason, string detail)
    {
        logger.LogWarning("Device {Device} broke the agent protocol ({Detail}); closing its connection", session.Device, detail);
        await session.CloseAsync(status, reason).ConfigureAwait(false);
    }

    private async Task HandleAsync(AgentSession session, AgentMessage message, CancellationToken cancellationToken)
    {
        var device = session.Device;
        switch (message.Type)
        {
            case "ping":
                await session.SendAsync(new AgentMessage { Type = "pong" }, cancellationToken).ConfigureAwait(false);
                if (session.Blocked)
                {
                    await PumpAsync(session, cancellationToken).ConfigureAwait(false); // the holder's grace may be over
                }

                return;
            case "hello":
                session.Window = Math.Clamp(message.Window ?? message.Capacity ?? 1, 1, 1024);
                session.Heartbeat = message.HeartbeatMs is { } ms ? TimeSpan.FromMilliseconds(Math.Clamp(ms, 100, 600_000)) : options.DefaultHeartbeat;

                // Our record may have missed the agent's answers (a hub that died mid-conversation): what it says it
                // holds is running, and counts against its window, so it is never sent more than it can take.
                foreach (var held in message.Holding ?? [])
                {
                    if (held is not null)
                    {
                        session.Held.Add(held);
                    }

                    if (held is not null && store.Advance(held, device, RoutedStatus.Running))
                    {
                        Changed(held);
                    }
                }

                session.Greeted = true;
                store.Touch(device);
                logger.LogInformation("Device {Device} says hello (window {Window}, heartbeat {Heartbeat} ms)", device, session.Window, (int)session.Heartbeat.TotalMilliseconds);
                await PumpAsync(session, cancellationToken).ConfigureAwait(false);
                return;
        }

        var id = message.Id ?? "";
        if (message is { Type: "rejected", Reason: { } reason } && reason.StartsWith("busy", StringComparison.Ordinal))
        {
            // The device is full: the command waits at the hub and goes out again, in order, when a slot frees
            // (after a completion), instead of being lost to a moment of contention.
            await session.Pumping.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                session.Sent.Remove(id);
                if (store.Requeue(id, device))
                {
                    Changed(id);
                }
            }
            finally
            {
                session.Pumping.Release();
            }

            logger.LogInformation("Device {Device} was busy; {Id} waits for a free slot", device, id);
            return;
        }

        var changed = message.Type switch
        {
            "accepted" => store.Advance(id, device, RoutedStatus.DeviceAccepted),
            "running" => store.Advance(id, device, RoutedStatus.Running),
            "rejected" => store.Advance(id, device, RoutedStatus.Rejected, error: message.Reason ?? "rejected by the device"),
            "completed" => store.Advance(id, device, RoutedStatus.Completed, message.Result ?? new CommandResponse()),
            "failed" => store.Advance(id, device, RoutedStatus.Failed, message.Result, message.Reason ?? "failed on the device"),
            "in_doubt" => store.Advance(id, device, RoutedStatus.InDoubt, error: message.Reason ?? "interrupted while running; it may or may not have had its effect"),
            _ => false,
        };
        if (changed)
        {
            Changed(id);
        }

        // Results are acknowledged even when repeated (or already final), so the agent can forget them.
        if (message.Type is "completed" or "failed" or "in_doubt")
        {
            await session.SendAsync(new AgentMessage { Type = "ack", Id = id }, cancellationToken).ConfigureAwait(false);
        }

        if (message.Type is "completed" or "failed" or "rejected" or "in_doubt")
        {
            await PumpAsync(session, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Keeps the agent's window full, strictly in sequence order: never more unfinished commands at the agent than
    /// its window (assigned on this connection, accepted or running). Commands assigned on an earlier connection
    /// but never accepted come first again because they have the lowest sequence numbers. The agent, not the hub,
    /// decides which of them may overlap.
    /// </summary>
    private async Task PumpAsync(AgentSession session, CancellationToken cancellationToken)
    {
        if (!session.Greeted)
        {
            return; // nothing is sent before the agent's hello says what it can take and what it holds
        }

        try
        {
            await session.Pumping.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // Strict order across agent stores: commands another store accepted (another machine with this
                // device's token, whose agent died or lost the lease) run there, when its agent is back. Handing
                // this connection newer ones meanwhile would run them first, and, with those older ones filling
                // the window, the holder could never get back in (seen: 31 commands stuck device_accepted for
                // good while a second machine served the rest out of order). So nothing goes out while they are
                // pending, and this connection is closed at its next ping (above), unless the holder stays away
                // past HolderGrace.
                var elsewhere = store.Working(session.Device).Count(id => !session.Held.Contains(id) && !session.Sent.Contains(id));
                session.Blocked = elsewhere > 0 && WithinHolderGrace(session.Device);
                if (session.Blocked)
                {
                    logger.LogInformation("Device {Device}: {Count} unfinished command(s) are held by another agent of this device; assigning nothing to this connection", session.Device, elsewhere);
                    return;
                }

                var room = session.Window - store.InFlight(session.Device, session.Sent);
                if (room <= 0)
                {
                    return;
                }

                foreach (var record in store.Undelivered(session.Device).Where(r => !session.Sent.Contains(r.Id)).Take(room))
                {
                    store.Advance(record.Id, record.Target, RoutedStatus.Assigned);
                    session.Sent.Add(record.Id);
                    Changed(record.Id);

                    // The session's own token: a sender hanging up must not cancel (and so abort) the agent's socket.
                    await session.SendAsync(
                        new AgentMessage { Type = "assign", Id = record.Id, Text = record.Text, Sender = record.Sender, Seq = record.Seq, Parallel = record.Parallel },
                        session.Ending).ConfigureAwait(false);
                }
            }
            finally
            {
                session.Pumping.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The connection broke under us; its session loop ends, frees the lease, and the next connection
            // gets these commands again (they are still "assigned", never accepted).
            logger.LogInformation("Device {Device}: could not assign ({Reason})", session.Device, ex.Message);
            session.Abort();
        }
    }

    private void Changed(string id) => _changes.Signal(id);

    /// <summary>1013 Try Again Later (RFC 6455 registry): the agent should reconnect with back-off.</summary>
    internal const WebSocketCloseStatus HolderElsewhere = (WebSocketCloseStatus)1013;

    private bool WithinHolderGrace(string device) =>
        time.GetUtcNow() - _left.GetValueOrDefault(device, _started) < options.HolderGrace;

    private sealed class AgentSession(string device)
    {
        private AgentChannel? _channel;
        private WebSocket? _socket;

        public string Device => device;

        /// <summary>How many unfinished commands the agent may hold (from its hello); 1 until it says.</summary>
        public int Window { get; set; } = 1;

        /// <summary>How often the agent promised to ping; the hub's default until its hello says.</summary>
        public required TimeSpan Heartbeat { get; set; }

        /// <summary>Whether the agent's hello has arrived.</summary>
        public bool Greeted { get; set; }

        /// <summary>What the agent's hello said it holds: its own unfinished commands.</summary>
        public HashSet<string> Held { get; } = new(StringComparer.Ordinal);

        /// <summary>Another agent store holds unfinished commands of the device, so nothing is assigned here.</summary>
        public bool Blocked { get; set; }

        /// <summary>Commands assigned on this connection; guarded by <see cref="Pumping"/>.</summary>
        public HashSet<string> Sent { get; } = new(StringComparer.Ordinal);

        public SemaphoreSlim Pumping { get; } = new(1, 1);

        /// <summary>Cancelled when the session ends (silence, hub stopping, or the agent hanging up).</summary>
        public CancellationToken Ending { get; private set; } = new(canceled: true);

        public void Attach(WebSocket socket, int maxMessageBytes, CancellationToken ending)
        {
            _socket = socket;
            _channel = new AgentChannel(socket, maxMessageBytes);
            Ending = ending;
        }

        public Task SendAsync(AgentMessage message, CancellationToken cancellationToken) =>
            Channel.SendAsync(message, cancellationToken);

        public Task<AgentMessage?> ReceiveAsync(CancellationToken cancellationToken) => Channel.ReceiveAsync(cancellationToken);

        /// <summary>Closes with a reason the agent can log; an agent that does not answer the close within 2 s is cut off.</summary>
        public async Task CloseAsync(WebSocketCloseStatus status, string reason)
        {
            if (_socket is not { State: WebSocketState.Open or WebSocketState.CloseReceived } socket)
            {
                return;
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseAsync(status, Fit(reason), grace.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                socket.Abort();
            }
        }

        public void Abort() => _socket?.Abort();

        private AgentChannel Channel => _channel ?? throw new InvalidOperationException($"The session for '{device}' has no socket yet.");

        // A close reason is at most 123 UTF-8 bytes (RFC 6455 §5.5).
        private static string Fit(string reason)
        {
            while (Encoding.UTF8.GetByteCount(reason) > 123)
            {
                reason = reason[..^1];
            }

            return reason;
        }
    }
}
