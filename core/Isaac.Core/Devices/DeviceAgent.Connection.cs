using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Isaac.Core.Queue;
using Isaac.Core.Wire;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Devices;

// The hub connection: one BackgroundLoop pass connects and serves until the connection ends, and returns the
// wait before reconnecting; the loop logs and retries anything unexpected, so nothing ends the agent silently.
public sealed partial class DeviceAgent
{
    private static readonly TimeSpan _minConnectTimeout = TimeSpan.FromSeconds(10);

    private volatile Outbox? _connection;
    private int _connectFailures;
    private HttpStatusCode? _lastRefusal;
    private int _tokenRefusals;
    private readonly TaskCompletionSource _tokenRefused = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastHeard;
    private int _hubIndex;

    /// <summary>The hub this pass connects to: the next in the list after each failed or ended connection.</summary>
    private Uri Hub => _hubIndex % (_options.OtherHubs.Count + 1) is var i and > 0 ? _options.OtherHubs[i - 1] : _options.Hub;

    /// <summary>
    /// Set once the hub refused this device's token (401/403) <see cref="AgentOptions.MaxTokenRefusals"/> times in a
    /// row: the agent said so (log and <see cref="Notices"/>), stopped trying, and <see cref="RunAsync"/> returned.
    /// </summary>
    public bool TokenRefused => _tokenRefused.Task.IsCompleted;

    private async Task<TimeSpan> ConnectPassAsync(CancellationToken cancellationToken)
    {
        if (TokenRefused)
        {
            return _options.MaxReconnect; // said once; nothing more to try until the agent is stopped
        }

        SetState(AgentState.Disconnected);
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + _options.Token);

        // Liveness is the application's ping/pong below, which the hub also watches.
        socket.Options.KeepAliveInterval = TimeSpan.Zero;

        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connectTimeout.CancelAfter(Max(_options.Heartbeat * 2, _minConnectTimeout));
            try
            {
                await socket.ConnectAsync(AgentUri(Hub), connectTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is WebSocketException or HttpRequestException or IOException or OperationCanceledException)
            {
                var wait = Refused(socket.HttpStatusCode, ex);
                _hubIndex++;
                return wait;
            }
        }

        _lastRefusal = null;
        _tokenRefusals = 0;
        _logger.LogInformation("Connected to the hub at {Hub} as '{Device}'", Hub, _options.Device);
        var connectedAt = _time.GetTimestamp();
        try
        {
            await ServeAsync(new AgentChannel(socket), cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("The hub at {Hub} closed the connection", Hub);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogWarning("The hub connection ended: {Reason}", ex.Message);
        }
        finally
        {
            _connection = null;
            _hubIndex++;
            SetState(AgentState.Disconnected);
        }

        // Only a connection that lasted resets the back-off: a hub that accepts and drops at once must not
        // cause a reconnect storm. Nor does one the hub closed with 1013 (another agent of this device holds its
        // unfinished commands): it lasts a heartbeat, and reconnecting at once would keep that holder out.
        if (_time.GetElapsedTime(connectedAt) >= _options.Heartbeat && socket.CloseStatus != (WebSocketCloseStatus)1013)
        {
            _connectFailures = 0;
        }

        return NextDelay();
    }

    private TimeSpan Refused(HttpStatusCode status, Exception ex)
    {
        // Each kind of refusal is said once until a connection succeeds: a waiting agent must not flood the log.
        var first = _lastRefusal != status;
        _lastRefusal = status;
        if (status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden))
        {
            _tokenRefusals = 0; // counted in a row only
        }

        switch (status)
        {
            case HttpStatusCode.Conflict:
                if (first)
                {
                    _logger.LogWarning("Device '{Device}' is already served by another agent; waiting", _options.Device);
                }

                return NextDelay();
            case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                // Tried a few times (the token may be registered at this very moment), never forever and silently.
                if (++_tokenRefusals < _options.MaxTokenRefusals)
                {
                    _logger.LogDebug("The hub at {Hub} refused the token of device '{Device}' ({Status}); trying again", Hub.ToString(), _options.Device, (int)status);
                    return NextDelay();
                }

                var refusal = $"The hub at {Hub} refused the token of device '{_options.Device}' {_tokenRefusals} times in a row (HTTP {(int)status}); stopped. "
                    + $"Set ISAAC_TOKEN to the token 'isaac hub add-device {_options.Device}' printed (add --replace for a new one).";
                _logger.LogError("{Refusal}", refusal);
                Notice(refusal);
                _tokenRefused.TrySetResult();
                return _options.MaxReconnect;
            default:
                _logger.LogWarning("Could not connect to the hub at {Hub}: {Reason}", Hub, ex.Message);
                return NextDelay();
        }
    }

    private TimeSpan NextDelay() => Backoff.Delay(++_connectFailures, _options.MinReconnect, _options.MaxReconnect, Random.Shared);

    private async Task ServeAsync(AgentChannel channel, CancellationToken cancellationToken)
    {
        if (_store is not { } store)
        {
            return;
        }

        Touch();
        await channel.SendAsync(new AgentMessage
        {
            Type = "hello",
            Version = AgentProtocol.Current,
            Capacity = _options.Capacity,
            Window = _options.Window,
            HeartbeatMs = (int)_options.Heartbeat.TotalMilliseconds,
            Holding = store.Unfinished(),
        }, cancellationToken).ConfigureAwait(false);
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var outbox = new Outbox(channel, () => Unfinished > 0, _time, _logger);
        var writer = outbox.RunAsync(connection.Token);
        _connection = outbox;
        SetState(AgentState.Connected);

        // Results the hub has not acknowledged go out on every connection until it does.
        foreach (var done in store.Unreported())
        {
            await ReportAsync(done, cancellationToken).ConfigureAwait(false);
        }

        AnnounceTasks(store);

        var heartbeat = HeartbeatAsync(channel, connection.Token);
        try
        {
            while (true)
            {
                AgentMessage? message;
                try
                {
                    message = await channel.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (JsonException ex)
                {
                    // A whole message was read; the socket is still at a message boundary and usable.
                    Touch();
                    _logger.LogWarning("Ignored a malformed message from the hub: {Reason}", ex.Message);
                    continue;
                }

                if (message is null)
                {
                    return;
                }

                Touch();
                await HandleAsync(store, outbox, message, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _connection = null;
            await connection.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            await writer.ConfigureAwait(false);
        }
    }

    // Pings every heartbeat. A hub silent for twice that long (frozen, or a dead network path that TCP has not
    // noticed) is given up on: the socket is aborted, the receive loop ends, and the pass reconnects. Silence only
    // counts once a ping has gone unanswered for a whole heartbeat, so a stall in this process (start-up, GC, a
    // starved thread pool) is not blamed on the hub.
    private async Task HeartbeatAsync(AgentChannel channel, CancellationToken cancellationToken)
    {
        // Checked twice per heartbeat, so a silent hub is noticed after two heartbeats, not three.
        var tick = _options.Heartbeat / 2;
        var lastPing = Volatile.Read(ref _lastHeard);
        long? unanswered = null;
        try
        {
            while (true)
            {
                await Task.Delay(tick, _time, cancellationToken).ConfigureAwait(false);
                var lastHeard = Volatile.Read(ref _lastHeard);
                if (unanswered is { } pinged && lastHeard >= pinged)
                {
                    unanswered = null;
                }

                var silence = _time.GetElapsedTime(lastHeard);
                if (unanswered is { } waiting && silence >= _options.Heartbeat * 2 && _time.GetElapsedTime(waiting) >= _options.Heartbeat)
                {
                    _logger.LogWarning("The hub at {Hub} has been silent for {Silence:0.0} s; reconnecting", Hub, silence.TotalSeconds);
                    channel.Abort();
                    return;
                }

                if (_time.GetElapsedTime(lastPing) < _options.Heartbeat)
                {
                    continue;
                }

                lastPing = _time.GetTimestamp();
                unanswered ??= lastPing;
                using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                sending.CancelAfter(_options.Heartbeat);
                await channel.SendAsync(new AgentMessage { Type = "ping" }, sending.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The connection ended.
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            _logger.LogWarning("Could not ping the hub at {Hub}: {Reason}; reconnecting", Hub, ex.Message);
            channel.Abort();
        }
    }

    private void Touch() => Volatile.Write(ref _lastHeard, _time.GetTimestamp());

    private async Task HandleAsync(AgentStore store, Outbox outbox, AgentMessage message, CancellationToken cancellationToken)
    {
        switch (message)
        {
            case { Type: "assign" } when IsAssign(message):
                await AssignedAsync(store, [message], cancellationToken).ConfigureAwait(false);
                break;
            case { Type: "assign_batch", Commands: { } commands }:
                var assigns = commands.Where(IsAssign).ToList();
                if (assigns.Count < commands.Count)
                {
                    _logger.LogWarning("Ignored {Count} malformed assignment(s) in a batch from the hub", commands.Count - assigns.Count);
                }

                await AssignedAsync(store, assigns, cancellationToken).ConfigureAwait(false);
                break;
            case { Type: "ack", Id: { } id }:
                Acknowledged(store, [id]);
                break;
            case { Type: "ack_batch" }:
                // One transaction for every result the hub stored from one report.
                if (message.Ids is { Count: > 0 } ids)
                {
                    Acknowledged(store, [.. ids.Where(id => id is not null)]);
                }

                outbox.Acknowledged();
                break;
            case { Type: "welcome", Version: >= AgentProtocol.Batched }:
                outbox.Batched = true;
                break;
            case { Type: "pong" }:
                break;
            default:
                _logger.LogWarning("Ignored an unexpected message from the hub: type '{Type}', id '{Id}'", message.Type, message.Id);
                break;
        }
    }

    private static bool IsAssign(AgentMessage? message) =>
        message is { Id.Length: > 0, Text: not null, Sender: not null };

    private async Task AssignedAsync(AgentStore store, IReadOnlyList<AgentMessage> assigns, CancellationToken cancellationToken)
    {
        // Past the window, a command not already here is turned away as busy, and so is everything after it in the
        // batch: accepting a later one would let it run before the one sent back.
        var room = _options.Window - Unfinished;
        var take = new List<AgentMessage>(assigns.Count);
        var full = false;
        foreach (var assign in assigns)
        {
            full |= room <= 0 && store.Get(assign.Id ?? "") is null;
            if (full)
            {
                await SendAsync(new AgentMessage { Type = "rejected", Id = assign.Id, Reason = $"busy: {Unfinished} unfinished command(s) already here (window {_options.Window})" }, cancellationToken).ConfigureAwait(false);
                continue;
            }

            take.Add(assign);
            room--;
        }

        if (take.Count == 0)
        {
            return;
        }

        // One atomic transaction decides: a second copy of an assignment (the hub never heard our answer, or
        // resent it on a new connection) finds the row and is answered from it, never run again.
        var stored = store.Receive(take);
        FaultInjection.At("after-persist");
        foreach (var (assign, received) in take.Zip(stored))
        {
            if (received is null && store.Get(assign.Id ?? "") is { Status: AgentStore.Done } done)
            {
                await ReportAsync(done, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await SendAsync(new AgentMessage { Type = "accepted", Id = assign.Id }, cancellationToken).ConfigureAwait(false);
            if (received is not null)
            {
                Enqueue(received);
            }
        }
    }

    private Task ReportAsync(Assignment done, CancellationToken cancellationToken) =>
        SendAsync(done.Outcome == "in_doubt"
            ? new AgentMessage { Type = "in_doubt", Id = done.Id, Reason = done.Reason }
            : new AgentMessage { Type = done.Outcome ?? "failed", Id = done.Id, Result = done.Result, Reason = done.Reason }, cancellationToken);

    // Sending while disconnected is not an error: what matters is stored and goes out on reconnect.
    private Task SendAsync(AgentMessage message, CancellationToken cancellationToken)
    {
        _connection?.Post(message);
        return Task.CompletedTask;
    }

    /// <summary>
    /// What the agent tells the hub about its commands, in the order it happened. One writer sends it: to a hub that
    /// speaks version 2 as one report of everything waiting, and the next report only once the hub has answered
    /// this one (ack_batch), so whatever finishes while the hub stores a report travels, and is stored, together.
    /// Nothing here needs to survive the connection: each message is about a stored state, and the next connection
    /// says it again (the hello's holding list, and every unacknowledged result).
    /// </summary>
    private sealed class Outbox(AgentChannel channel, Func<bool> backlog, TimeProvider time, ILogger logger)
    {
        // With commands still to run here, a report waits this long for the next ones to finish: a replayed backlog
        // then costs the hub one transaction per few commands instead of one or two per command. Nothing waits when
        // the agent is idle, so a command typed alone is reported at once.
        private static readonly TimeSpan _linger = TimeSpan.FromMilliseconds(5);

        private readonly System.Threading.Channels.Channel<AgentMessage> _messages = System.Threading.Channels.Channel.CreateUnbounded<AgentMessage>(new() { SingleReader = true });
        private readonly SemaphoreSlim _answered = new(0);

        /// <summary>Set when the hub's welcome says it speaks version 2.</summary>
        public volatile bool Batched;

        public void Post(AgentMessage message) => _messages.Writer.TryWrite(message);

        public void Acknowledged() => _answered.Release();

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var waiting = new List<AgentMessage>();
            try
            {
                while (await _messages.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (Batched && backlog())
                    {
                        await Task.Delay(_linger, time, cancellationToken).ConfigureAwait(false);
                    }

                    while (waiting.Count < AgentProtocol.MaxBatch && _messages.Reader.TryRead(out var message))
                    {
                        waiting.Add(message);
                    }

                    if (Batched)
                    {
                        await channel.SendAsync(new AgentMessage { Type = "report", Reports = waiting }, cancellationToken).ConfigureAwait(false);
                        await _answered.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        foreach (var message in waiting)
                        {
                            await channel.SendAsync(message, cancellationToken).ConfigureAwait(false);
                        }
                    }

                    waiting = [];
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The connection ended; the next one says it all again.
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidOperationException)
            {
                // A socket aborted mid-send: the connection is over, and the next one says it all again. Ending it
                // here makes sure a report never goes missing while the connection seems fine.
                logger.LogInformation("Could not send {Count} message(s) to the hub now: {Reason}; reconnecting", waiting.Count, ex.Message);
                channel.Abort();
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static Uri AgentUri(Uri hub)
    {
        var builder = new UriBuilder(new Uri(hub, "/v1/agent")) { Scheme = hub.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        return builder.Uri;
    }
}
