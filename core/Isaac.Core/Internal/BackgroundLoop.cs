using System.Threading.Channels;
using Isaac.Core.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isaac.Core.Internal;

/// <summary>
/// The one way Isaac runs work in the background (sync, connectivity probes, the result inbox, the device agent),
/// shaped after Serilog's batching sink: one owned task, a shutdown token, coalesced wake-ups, and failures that are
/// logged and retried with back-off instead of ending the loop silently.
/// </summary>
/// <remarks>
/// Each pass returns how long to wait before the next one; <see cref="Wake"/> cuts the wait short. Any number of
/// wake-ups during a pass or a wait cause exactly one more pass, so a burst of changes never piles up work.
/// </remarks>
internal sealed class BackgroundLoop : IAsyncDisposable
{
    private static readonly TimeSpan _firstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan _maxRetry = TimeSpan.FromSeconds(60);

    private readonly string _name;
    private readonly Func<CancellationToken, Task<TimeSpan>> _pass;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wakeUps = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _shutdown = new();
    private Task? _loop;
    private int _failures;

    /// <param name="name">What the loop does, for the log ("sync", "device agent").</param>
    /// <param name="pass">One pass of work; returns the wait before the next pass when nothing wakes the loop.</param>
    public BackgroundLoop(string name, Func<CancellationToken, Task<TimeSpan>> pass, TimeProvider? time = null, ILogger? logger = null)
    {
        _name = name;
        _pass = pass;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Passes that ended in an exception since the last one that did not.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _failures);

    /// <summary>Starts the loop; the first pass runs at once. Calling it again does nothing.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_shutdown.Token));

    /// <summary>Asks for a pass now (or right after the current one). Never blocks; wake-ups coalesce.</summary>
    public void Wake() => _wakeUps.Writer.TryWrite(true);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // A wake-up that arrived before this pass is consumed by it: the pass sees the state that caused it.
            _wakeUps.Reader.TryRead(out _);
            TimeSpan wait;
            try
            {
                wait = await _pass(cancellationToken).ConfigureAwait(false);
                _failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                wait = Backoff.Delay(++_failures, _firstRetry, _maxRetry, Random.Shared);
                _logger.LogError(ex, "The {Loop} loop failed ({Failures} time(s) in a row); trying again in {Wait}", _name, _failures, wait);
            }

            await WaitAsync(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var delay = Task.Delay(wait, _time, timeout.Token);
            var wake = _wakeUps.Reader.WaitToReadAsync(timeout.Token).AsTask();
            await Task.WhenAny(delay, wake).ConfigureAwait(false);
        }
        finally
        {
            await timeout.CancelAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        _shutdown.Dispose();
    }
}
