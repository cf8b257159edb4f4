using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Isaac.Core.Wire;
using Isaac.Hub.Internal;
using Isaac.Plugins;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Isaac.Hub;

/// <summary>
/// Connected device agents (docs/hub-protocol.md): one lease per device, presence by heartbeat deadline, commands
/// handed out in sequence order within the agent's window, and what the agents report recorded. With a shared store
/// the lease is also a row (<see cref="IHubStore.TryLease"/>), so it holds across hubs; other hubs' hints arrive by
/// <see cref="IHubStore.ListenAsync"/> and a poll every <see cref="HubOptions.PollInterval"/> catches any hint lost.
/// </summary>
internal sealed class AgentHub(IHubStore store, HubOptions options, TimeProvider time, ILogger<AgentHub> logger) : IHostedService
{
    private readonly ConcurrentDictionary<string, AgentSession> _leases = new(StringComparer.Ordinal);
    private readonly ChangeSignals _changes = new();
    private readonly Channel<string> _wake = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _loops = Task.CompletedTask;

    /// <summary>This hub process in the presence rows of a shared store.</summary>
    public string Node { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    // When each device's last agent connection ended (absent: not since the hub started), for HolderGrace.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _left = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _started = time.GetUtcNow();

    /// <summary>Whether an agent holds the device's lease, here or at another hub sharing the store.</summary>
    public bool IsOnline(string device) => _leases.ContainsKey(device) || store.IsLeased(device, time.GetUtcNow());

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loops = Task.WhenAll(ListenLoopAsync(_stopping.Token), PollLoopAsync(_stopping.Token), WakeLoopAsync(_stopping.Token));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _wake.Writer.TryComplete();
        await _loops.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Hints from other hubs: new work for a device (woken by the wake loop, never on the listener's thread) or a
    // command whose record changed (its long-polls here read it again).
    private async Task ListenLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await store.ListenAsync(signal =>
                {
                    if (signal.Device is { } device && _leases.ContainsKey(device))
                    {
                        _wake.Writer.TryWrite(device);
                    }

                    if (signal.Command is { } id)
                    {
                        Changed(id);
                    }
                }, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Until it listens again the poll below delivers: a lost hint costs latency, never a command.
                logger.LogWarning("Lost the store's notifications ({Reason}); polling every {Ms} ms until they are back", ex.Message.Split('\n')[0], (int)options.PollInterval.TotalMilliseconds);
                await Idle(options.ListenRetry, stopping).ConfigureAwait(false);
            }
        }
    }

    // The bounded fallback and the presence heartbeat: renews this hub's leases (dropping a session whose lease
    // another hub took after it expired) and offers waiting work to its devices, whether or not a hint came.
    private async Task PollLoopAsync(CancellationToken stopping)
    {
        var renewed = DateTimeOffset.MinValue;
        while (!stopping.IsCancellationRequested)
        {
            await Idle(options.PollInterval, stopping).ConfigureAwait(false);
            try
            {
                var now = time.GetUtcNow();
                if (now - renewed >= options.PresenceLease / 3)
                {
                    var held = store.Renew(Node, now + options.PresenceLease);
                    renewed = now;
                    foreach (var (device, session) in _leases)
                    {
                        if (!held.Contains(device) && session.Leased)
                        {
                            logger.LogWarning("Device {Device}: another hub took its lease (this hub missed renewing it); dropping this connection", device);
                            session.Abort();
                        }
                    }
                }

                foreach (var device in store.Waiting(Node))
                {
                    _wake.Writer.TryWrite(device);
                }
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                logger.LogWarning("Could not renew leases or look for waiting work ({Reason}); trying again in {Ms} ms", ex.Message.Split('\n')[0], (int)options.PollInterval.TotalMilliseconds);
            }
        }
    }

    private async Task WakeLoopAsync(CancellationToken stopping)
    {
        try
        {
            await foreach (var device in _wake.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                await OfferAsync(device, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // the hub is stopping
        }
    }

    private async Task Idle(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, time, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // the loops end at their next check
        }
    }

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

        var now = time.GetUtcNow();
        if (!store.TryLease(device, Node, now + options.PresenceLease, now))
        {
            _leases.TryRemove(KeyValuePair.Create(device, session));
            logger.LogWarning("Device {Device} is served by another hub; a second agent connection was refused", device);
            return false;
        }

        session.Leased = true;
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
            store.Release(device, Node);
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
                session.Version = Math.Clamp(message.Version ?? AgentProtocol.Single, AgentProtocol.Single, AgentProtocol.Current);
                await HelloAsync(session, message.Holding ?? [], cancellationToken).ConfigureAwait(false);
                return;
            case "report" when session.Version < AgentProtocol.Batched:
                await RefuseAsync(session, WebSocketCloseStatus.PolicyViolation,
                    $"'report' needs version {AgentProtocol.Batched} in the agent's hello; send one message per command", "a report without version 2").ConfigureAwait(false);
                session.Abort();
                return;
        }

        await ReportedAsync(session, message.Reports ?? [message], message.Type == "report", cancellationToken).ConfigureAwait(false);
    }

    private async Task HelloAsync(AgentSession session, IReadOnlyList<string> holding, CancellationToken cancellationToken)
    {
        var device = session.Device;
        await session.Pumping.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Our record may have missed the agent's answers (a hub that died mid-conversation): what it says it
            // holds is running (one transaction for all of it), and counts against its window, so it is never sent
            // more than it can take.
            session.Held.UnionWith(holding);
            foreach (var id in store.Apply(device, [.. session.Held.Select(id => new AgentMessage { Type = "running", Id = id })]))
            {
                Changed(id);
            }

            var working = store.Working(device);
            session.Open.Clear();
            session.Open.UnionWith(working.Where(session.Held.Contains));
            session.Elsewhere = working.Count - session.Open.Count;
            session.Cursor = 0;
            session.Greeted = true;
        }
        finally
        {
            session.Pumping.Release();
        }

        store.Touch(device);
        if (session.Version >= AgentProtocol.Batched)
        {
            await session.SendAsync(new AgentMessage { Type = "welcome", Version = session.Version }, cancellationToken).ConfigureAwait(false);
        }

        logger.LogInformation("Device {Device} says hello (protocol {Version}, window {Window}, heartbeat {Heartbeat} ms)",
            device, session.Version, session.Window, (int)session.Heartbeat.TotalMilliseconds);
        await PumpAsync(session, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores what the agent reported — one message, or a version 2 report of many — in one transaction, acknowledges
    /// the results in it (also repeated ones, so the agent can forget them), and fills the window again.
    /// </summary>
    private async Task ReportedAsync(AgentSession session, IReadOnlyList<AgentMessage> reports, bool batched, CancellationToken cancellationToken)
    {
        var device = session.Device;
        IReadOnlyList<string> changed;
        await session.Pumping.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            changed = store.Apply(device, reports);
            foreach (var report in reports)
            {
                if (report.Type is "completed" or "failed" or "rejected" or "in_doubt")
                {
                    session.Open.Remove(report.Id ?? "");
                }

                if (IsBusy(report))
                {
                    // The device is full: the command waits at the hub and goes out again, in order, the next time
                    // the window is filled (after a completion), instead of being lost to a moment of contention.
                    session.Cursor = 0;
                    logger.LogInformation("Device {Device} was busy; {Id} waits for a free slot", device, report.Id);
                }
            }
        }
        finally
        {
            session.Pumping.Release();
        }

        foreach (var id in changed)
        {
            Changed(id);
        }

        var results = reports.Where(r => r.Type is "completed" or "failed" or "in_doubt").Select(r => r.Id ?? "").ToList();
        if (batched)
        {
            // Every version 2 report is answered, results or not: the agent sends its next report when this one is
            // stored, so whatever finishes meanwhile travels (and is stored) together.
            await session.SendAsync(new AgentMessage { Type = "ack_batch", Ids = results }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (var id in results)
            {
                await session.SendAsync(new AgentMessage { Type = "ack", Id = id }, cancellationToken).ConfigureAwait(false);
            }
        }

        if (reports.Any(r => r.Type is "completed" or "failed" or "rejected" or "in_doubt" && !IsBusy(r)))
        {
            await PumpAsync(session, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Keeps the agent's window full, strictly in sequence order: never more unfinished commands at the agent than
    /// its window (assigned on this connection, accepted or running). Commands assigned on an earlier connection
    /// but never accepted come first again because they have the lowest sequence numbers. The agent, not the hub,
    /// decides which of them may overlap. The next commands come from an index with a limit and the count of what
    /// the agent holds is kept here, so the cost of a fill does not grow with the backlog.
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
                // past HolderGrace. Only one connection holds the lease, so that number can only shrink: it is
                // read again only while it is not zero.
                if (session.Elsewhere > 0)
                {
                    session.Elsewhere = store.Working(session.Device).Count(id => !session.Open.Contains(id));
                }

                session.Blocked = session.Elsewhere > 0 && WithinHolderGrace(session.Device);
                if (session.Blocked)
                {
                    logger.LogInformation("Device {Device}: {Count} unfinished command(s) are held by another agent of this device; assigning nothing to this connection", session.Device, session.Elsewhere);
                    return;
                }

                var room = session.Window - session.Open.Count - session.Elsewhere;
                if (room <= 0)
                {
                    return;
                }

                var next = store.NextWaiting(session.Device, session.Cursor, room + session.Open.Count)
                    .Where(r => !session.Open.Contains(r.Id)).Take(room).ToList();
                if (next.Count == 0)
                {
                    return;
                }

                store.Assign(session.Device, [.. next.Select(r => r.Id)]);
                session.Open.UnionWith(next.Select(r => r.Id));
                session.Cursor = next[^1].Seq;
                foreach (var record in next)
                {
                    Changed(record.Id);
                }

                // The session's own token: a sender hanging up must not cancel (and so abort) the agent's socket.
                var assigns = next.Select(r => new AgentMessage { Type = "assign", Id = r.Id, Text = r.Text, Sender = r.Sender, Seq = r.Seq, Parallel = r.Parallel }).ToList();
                if (session.Version >= AgentProtocol.Batched)
                {
                    foreach (var chunk in assigns.Chunk(AgentProtocol.MaxBatch))
                    {
                        await session.SendAsync(new AgentMessage { Type = "assign_batch", Commands = chunk }, session.Ending).ConfigureAwait(false);
                    }
                }
                else
                {
                    foreach (var assign in assigns)
                    {
                        await session.SendAsync(assign, session.Ending).ConfigureAwait(false);
                    }
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

    private static bool IsBusy(AgentMessage report) => report is { Type: "rejected", Reason: { } reason } && HubStore.IsBusy(reason);

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

        /// <summary>Whether the store's presence lease was taken for this connection.</summary>
        public bool Leased { get; set; }

        /// <summary>Whether the agent's hello has arrived.</summary>
        public bool Greeted { get; set; }

        /// <summary>What the agent's hello said it holds: its own unfinished commands.</summary>
        public HashSet<string> Held { get; } = new(StringComparer.Ordinal);

        /// <summary>Another agent store holds unfinished commands of the device, so nothing is assigned here.</summary>
        public bool Blocked { get; set; }

        /// <summary>The agent protocol version both ends speak on this connection (from the hello).</summary>
        public int Version { get; set; } = AgentProtocol.Single;

        /// <summary>
        /// The commands at the agent and unfinished: assigned on this connection, or held (from its hello); what
        /// counts against the window. Guarded by <see cref="Pumping"/>, like the two below.
        /// </summary>
        public HashSet<string> Open { get; } = new(StringComparer.Ordinal);

        /// <summary>Unfinished commands of the device that another agent store holds.</summary>
        public int Elsewhere { get; set; }

        /// <summary>The highest sequence number assigned on this connection: the next fill reads on from there.</summary>
        public long Cursor { get; set; }

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
