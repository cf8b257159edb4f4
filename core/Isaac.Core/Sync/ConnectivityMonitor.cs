using System.Reactive.Linq;
using System.Reactive.Subjects;
using Isaac.Core.Internal;
using Isaac.Core.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Sync;

/// <summary>
/// Tracks whether the hub answers: health probes on a schedule, and the outcome of every real hub call
/// (a failed call turns it offline at once, a success online). While online it probes every 30 s; while
/// offline with work waiting, from about 1 s backing off to 8 s (so a drain starts within a few seconds of the hub's return); while offline with nothing waiting, every 30 s.
/// </summary>
internal sealed class ConnectivityMonitor : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<bool>> _probe;
    private readonly ConnectivityOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly BehaviorSubject<Connectivity> _state = new(Connectivity.Unknown);
    private readonly Lock _gate = new();
    private readonly BackgroundLoop _loop;
    private int _failures;
    private long _lastProbeTicks = DateTimeOffset.MinValue.UtcTicks;

    public ConnectivityMonitor(Func<CancellationToken, Task<bool>> probe, ConnectivityOptions? options = null, TimeProvider? time = null, Random? random = null, ILogger<ConnectivityMonitor>? logger = null)
    {
        _probe = probe;
        _options = options ?? ConnectivityOptions.Default;
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared;
        _logger = logger ?? NullLogger<ConnectivityMonitor>.Instance;
        _loop = new BackgroundLoop("connectivity", ProbeAsync, _time, _logger);
        Changes = _state.DistinctUntilChanged(state => (state.Online, state.Since == DateTimeOffset.MinValue));
    }

    /// <summary>The current state on subscribe, then each change between online and offline. Completes on dispose.</summary>
    public IObservable<Connectivity> Changes { get; }

    public Connectivity Current => _state.Value;

    /// <summary>Whether work is waiting, which makes offline probing eager. Set by the sync pipeline.</summary>
    public bool WorkWaiting { get; set; }

    public void Start() => _loop.Start();

    /// <summary>Probe now instead of at the next scheduled time (new work while offline); many calls at once make one probe.</summary>
    /// <remarks>At most one early probe per <see cref="ConnectivityOptions.OfflineProbeMin"/>: a burst of typed commands against a hub that is down must not become a burst of probes.</remarks>
    public void ProbeSoon()
    {
        if (_time.GetUtcNow() - new DateTimeOffset(Interlocked.Read(ref _lastProbeTicks), TimeSpan.Zero) >= _options.OfflineProbeMin)
        {
            _loop.Wake();
        }
    }

    /// <summary>Feeds the outcome of a real hub call.</summary>
    public void Report(bool reached, string reason)
    {
        lock (_gate)
        {
            var current = _state.Value;
            _failures = reached ? 0 : _failures + 1;
            if (current.Online != reached || current.Since == DateTimeOffset.MinValue)
            {
                _logger.LogInformation("Hub is now {State}: {Reason}", reached ? "online" : "offline", reason);
                _state.OnNext(new Connectivity(reached, reason, _time.GetUtcNow()));
            }
        }
    }

    /// <summary>The delay before the next probe, given the state now (exposed for tests of the schedule).</summary>
    internal TimeSpan NextProbeDelay() =>
        Current.Online || !WorkWaiting
            ? _options.OnlineProbeInterval
            : Backoff.Delay(Math.Max(1, _failures), _options.OfflineProbeMin, _options.OfflineProbeMax, _random);

    private async Task<TimeSpan> ProbeAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lastProbeTicks, _time.GetUtcNow().UtcTicks);
        var reached = await _probe(cancellationToken).ConfigureAwait(false);
        Report(reached, reached ? "health check answered" : "health check failed");
        return NextProbeDelay();
    }

    public async ValueTask DisposeAsync()
    {
        await _loop.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
        {
            _state.OnCompleted();
        }

        _state.Dispose();
    }
}
