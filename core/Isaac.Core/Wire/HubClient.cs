using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Isaac.Plugins;

namespace Isaac.Core.Wire;

/// <summary>Whether one call reached the hub, and what happened.</summary>
internal sealed record HubCallOutcome(bool Reached, string Reason);

internal enum BatchOutcome
{
    /// <summary>The hub stored the batch; every command has its record.</summary>
    Delivered,

    /// <summary>The hub was not reached, or could not take anything now (5xx, 401, 408, 429): nothing was stored, try again later.</summary>
    Unavailable,

    /// <summary>The body was over the hub's size limit (413): smaller batches may pass.</summary>
    TooLarge,

    /// <summary>The hub refused the batch as it is (another 4xx): sending it again cannot help.</summary>
    Refused,
}

/// <summary>The hub's answer to a batch of routed commands.</summary>
internal sealed record BatchAnswer(BatchOutcome Outcome, IReadOnlyList<CommandRecord>? Records, string Reason)
{
    public static BatchAnswer Refused(HttpStatusCode status, string reason) => new(status switch
    {
        HttpStatusCode.RequestEntityTooLarge => BatchOutcome.TooLarge,
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => BatchOutcome.Unavailable,
        HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests => BatchOutcome.Unavailable,
        _ when (int)status >= 500 => BatchOutcome.Unavailable,
        _ => BatchOutcome.Refused,
    }, null, status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? "the hub refused this device's token (ISAAC_TOKEN)" : reason);
}

/// <summary>
/// Talks to the hub over HTTP (DESIGN §5). Every call reports its outcome instead of throwing for network
/// trouble: an unreachable hub is a normal state for Isaac, not an exception.
/// </summary>
internal sealed class HubClient : IDisposable
{
    /// <summary>How long an availability check may take. The default is 2 s (DESIGN §5).</summary>
    public static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan _callTimeout = TimeSpan.FromSeconds(10);

    private const int MaxAnswerBytes = 16 * 1024 * 1024;

    private readonly HttpClient _http;
    private readonly IReadOnlyList<Uri> _addresses;
    private int _current;
    private readonly System.Reactive.Subjects.Subject<HubCallOutcome> _outcomes = new();

    public HubClient(Uri address, string? token, HttpMessageHandler? handler = null)
        : this([address], token, handler)
    {
    }

    /// <summary>A client for hubs sharing one store (ISAAC_HUB=a,b): a call that does not reach the current hub moves the next call to the next one.</summary>
    public HubClient(IReadOnlyList<Uri> addresses, string? token, HttpMessageHandler? handler = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(addresses.Count, nameof(addresses));
        _addresses = addresses;
        // A hub's answer is a batch of records at most; anything far larger is not a hub talking.
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = HealthTimeout })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = MaxAnswerBytes,
        };
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>The hub the next call goes to.</summary>
    public Uri Address => _addresses[(int)((uint)Volatile.Read(ref _current) % (uint)_addresses.Count)];

    /// <summary>Whether each real call reached the hub: connectivity follows every call, not only probes.</summary>
    public IObservable<HubCallOutcome> Outcomes => _outcomes;

    /// <summary>
    /// Sends up to 100 commands in one call. The answer holds one record per command, in order (a rejected one has
    /// status "rejected" and an error), or says why there is none: the hub was not reached, or refused the whole batch.
    /// </summary>
    public async Task<BatchAnswer> RouteBatchAsync(IReadOnlyList<RouteBody> commands, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_callTimeout);
        try
        {
            using var response = await _http.PostAsJsonAsync(new Uri(Address, "/v1/commands/batch"), commands.ToArray(), HubJson.Default.RouteBodyArray, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var answer = BatchAnswer.Refused(response.StatusCode, await ProblemAsync(response, timeout.Token).ConfigureAwait(false));
                Report(answer.Outcome != BatchOutcome.Unavailable, answer.Reason);
                return answer;
            }

            var records = await AnswerAsync<CommandRecord?[]>(response, timeout.Token).ConfigureAwait(false);
            var problem = records is null || records.Length != commands.Count
                ? $"{records?.Length ?? 0} record(s) for {commands.Count} command(s)"
                : records.Select(WireCheck.Record).FirstOrDefault(p => p is not null);
            if (problem is not null || records is null)
            {
                // Unavailable, not refused: sent again, the unique keys make the hub answer with what it stored.
                var reason = $"the hub sent an answer that does not match the batch ({problem})";
                Report(false, reason);
                return new BatchAnswer(BatchOutcome.Unavailable, null, reason);
            }

            Report(true, "batch delivered");
            return new BatchAnswer(BatchOutcome.Delivered, records!, "delivered");
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            var reason = ex is OperationCanceledException ? $"no answer within {_callTimeout.TotalSeconds:0} s" : ex.Message;
            Report(false, reason);
            return new BatchAnswer(BatchOutcome.Unavailable, null, reason);
        }
    }

    // The hub answers errors as problem details (RFC 7807); older hubs as plain text.
    private static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var problem = System.Text.Json.JsonDocument.Parse(body);
            if (problem.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && (problem.RootElement.TryGetProperty("detail", out var text) || problem.RootElement.TryGetProperty("title", out text))
                && text.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                body = text.GetString() ?? "";
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Plain text: use it as it is.
        }

        body = body.Trim();
        return $"the hub answered {(int)response.StatusCode}{(body.Length > 0 ? ": " + (body.Length > 300 ? body[..300] + "…" : body) : "")}";
    }

    /// <summary>GET /health within <see cref="HealthTimeout"/>.</summary>
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HealthTimeout);
        try
        {
            using var response = await _http.GetAsync(new Uri(Address, "/health"), timeout.Token).ConfigureAwait(false);
            Report(response.IsSuccessStatusCode, $"health check answered {(int)response.StatusCode}");
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            Report(false, ex is OperationCanceledException ? $"no answer within {HealthTimeout.TotalSeconds:0} s" : ex.Message);
            return false;
        }
    }

    /// <summary>POST /v1/commands: one command straight to the hub. The product routes through the queue (DeviceRouter); this is the bare endpoint, for tests and tools.</summary>
    public async Task<RouteOutcome> RouteAsync(RouteRequest request, CancellationToken cancellationToken = default)
    {
        var body = new RouteBody { Target = request.Target, Text = request.Text, UniqueKey = request.UniqueKey };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_callTimeout);
        try
        {
            using var response = await _http.PostAsJsonAsync(new Uri(Address, "/v1/commands"), body, HubJson.Default.RouteBody, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return new RouteOutcome { Status = RouteStatus.Unauthorized, Reason = "the hub refused this device's token (ISAAC_TOKEN)" };
            }

            if (!response.IsSuccessStatusCode)
            {
                var reason = await ProblemAsync(response, timeout.Token).ConfigureAwait(false);
                return new RouteOutcome { Status = (int)response.StatusCode >= 500 ? RouteStatus.Unavailable : RouteStatus.Rejected, Reason = reason };
            }

            var record = await AnswerAsync<CommandRecord>(response, timeout.Token).ConfigureAwait(false);
            Report(true, "route accepted");
            return WireCheck.Record(record) is { } problem
                ? new RouteOutcome { Status = RouteStatus.Unavailable, Reason = $"the hub sent a malformed answer: {problem}" }
                : new RouteOutcome { Status = RouteStatus.Accepted, Command = record!.ToRouted() };
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            Report(false, ex.Message);
            return new RouteOutcome { Status = RouteStatus.Unavailable, Reason = ex.Message };
        }
    }

    public async Task<RoutedCommand?> WaitAsync(string id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout + _callTimeout);
        try
        {
            var wait = (int)Math.Clamp(timeout.TotalMilliseconds, 0, 60_000);
            using var response = await _http.GetAsync(new Uri(Address, $"/v1/commands/{Uri.EscapeDataString(id)}?wait_ms={wait}"), deadline.Token).ConfigureAwait(false);
            var record = response.IsSuccessStatusCode ? await AnswerAsync<CommandRecord>(response, deadline.Token).ConfigureAwait(false) : null;
            return WireCheck.Record(record) is null ? record!.ToRouted() : null;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>
    /// POST /v1/commands/results: the final records among <paramref name="ids"/> (at most 1,000), waiting up to
    /// <paramref name="wait"/> for the first; empty when none is final yet, null when the hub could not be reached.
    /// A hub older than the endpoint is asked one id at a time, without waiting.
    /// </summary>
    public async Task<IReadOnlyList<RoutedCommand>?> ResultsAsync(IReadOnlyList<string> ids, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait + _callTimeout);
        try
        {
            var query = new ResultsQuery { Ids = ids, WaitMs = (int)Math.Clamp(wait.TotalMilliseconds, 0, 60_000) };
            using var response = await _http.PostAsJsonAsync(new Uri(Address, "/v1/commands/results"), query, HubJson.Default.ResultsQuery, deadline.Token).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
            {
                return await OneByOneAsync(ids, cancellationToken).ConfigureAwait(false);
            }

            var records = response.IsSuccessStatusCode ? await AnswerAsync<CommandRecord?[]>(response, deadline.Token).ConfigureAwait(false) : null;
            return records is not null && records.All(r => WireCheck.Record(r) is null) ? [.. records.Select(r => r!.ToRouted())] : null;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            return null;
        }
    }

    private async Task<IReadOnlyList<RoutedCommand>> OneByOneAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var final = new List<RoutedCommand>();
        foreach (var id in ids)
        {
            if (await WaitAsync(id, TimeSpan.Zero, cancellationToken).ConfigureAwait(false) is { IsFinished: true } record)
            {
                final.Add(record);
            }
        }

        return final;
    }

    /// <summary>GET /v1/devices: every registered device as the hub sees it; null when the hub could not be reached.</summary>
    public async Task<IReadOnlyList<DeviceRecord>?> DevicesAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HealthTimeout);
        try
        {
            using var response = await _http.GetAsync(new Uri(Address, "/v1/devices"), timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                Report(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) && (int)response.StatusCode < 500, await ProblemAsync(response, timeout.Token).ConfigureAwait(false));
                return null;
            }

            var devices = await AnswerAsync<DeviceRecord?[]>(response, timeout.Token).ConfigureAwait(false);
            if (devices is null || devices.Any(d => (string?)d?.Name is null))
            {
                Report(false, "the hub sent a malformed device list");
                return null;
            }

            Report(true, "device list answered");
            return devices!;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            Report(false, ex is OperationCanceledException ? $"no answer within {HealthTimeout.TotalSeconds:0} s" : ex.Message);
            return null;
        }
    }

    /// <summary>Appends to the shared history; false when the hub could not take it.</summary>
    public async Task<bool> AppendHistoryAsync(string text, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_callTimeout);
        try
        {
            using var response = await _http.PostAsJsonAsync(new Uri(Address, "/v1/history"),
                new HistoryEntry { Device = "", Text = text }, HubJson.Default.HistoryEntry, timeout.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            return false;
        }
    }

    /// <summary>Runs a hub-side meta-command such as <c>/devices</c>; null when the hub could not be reached.</summary>
    public async Task<CommandResponse?> MetaAsync(string text, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_callTimeout);
        try
        {
            using var response = await _http.PostAsJsonAsync(new Uri(Address, "/v1/meta"), new MetaBody { Text = text }, HubJson.Default.MetaBody, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return CommandResponse.Fail($"The meta-command failed: {await ProblemAsync(response, timeout.Token).ConfigureAwait(false)}.");
            }

            // Written by the hub itself (not a device), but read as carefully as anything from the network.
            var answer = await AnswerAsync<CommandResponse>(response, timeout.Token).ConfigureAwait(false);
            return answer is { Status: not null, Stdout: not null, Stderr: not null, Kind: not null, Meta: not null }
                ? answer
                : CommandResponse.Fail("The hub sent a malformed answer to the meta-command.");
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            return null;
        }
    }

    private static async Task<T?> AnswerAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return await WireJson.DeserializeAsync<T>(body, cancellationToken).ConfigureAwait(false);
        }
    }

    // Network trouble and our own timeouts mean "unavailable"; the caller's cancellation escapes.
    private static bool IsUnavailable(Exception ex, CancellationToken cancellationToken) =>
        ex is HttpRequestException or System.Text.Json.JsonException or IOException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private void Report(bool reached, string reason)
    {
        if (!reached)
        {
            Interlocked.Increment(ref _current); // the next call tries the next hub in the list
        }

        lock (_outcomes)
        {
            _outcomes.OnNext(new HubCallOutcome(reached, reason));
        }
    }

    public void Dispose()
    {
        lock (_outcomes)
        {
            _outcomes.OnCompleted();
        }

        _outcomes.Dispose();
        _http.Dispose();
    }
}
