using System.Reactive.Linq;
using System.Reactive.Subjects;
using Isaac.Core.Internal;
using Isaac.Plugins;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Isaac.Core.Queue;

// The live status stream, including changes other processes make to the same file.
internal sealed partial class CommandQueue
{
    private static readonly TimeSpan _housekeepingInterval = TimeSpan.FromMinutes(1);

    private BehaviorSubject<QueueStatus>? _status;
    private IObservable<QueueStatus>? _changes;
    private BackgroundLoop? _watcher;
    private FileSystemWatcher? _files;
    private long _lastVersion;
    private DateTimeOffset _nextHousekeeping;
    private bool _disposed;

    /// <summary>
    /// The current status on subscribe, then each distinct change: this instance's own writes at once, other
    /// processes' writes as soon as inotify reports them (or within <see cref="QueueOptions.ChangePollInterval"/> where
    /// the files cannot be watched). Completes on dispose.
    /// </summary>
    /// <remarks>Built on first use: a one-shot <c>isaac -c</c> never pays for loading Rx.</remarks>
    public IObservable<QueueStatus> Changes => _changes ??= Observable.FromAsync(StartWatchingAsync).SelectMany(subject => subject).DistinctUntilChanged();

    /// <summary>
    /// Each command that moves to the dead letters from now on (in this process or another), so the person hears of it.
    /// Completes on dispose.
    /// </summary>
    public IObservable<DeadLetter> DeadLetters => Observable.Defer(() =>
    {
        var since = _time.GetUtcNow();
        return Changes.Select(status => status.Dead).DistinctUntilChanged()
            .Select(_ => Observable.FromAsync(async cancellationToken =>
            {
                var dead = await DeadSinceAsync(since, cancellationToken).ConfigureAwait(false);
                if (dead.Count > 0)
                {
                    since = dead[^1].FailedAt;
                }

                return dead;
            }))
            .Concat()
            .SelectMany(dead => dead);
    });

    private async Task<BehaviorSubject<QueueStatus>> StartWatchingAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_status is null)
            {
                var store = EnsureOpen();
                _status = new BehaviorSubject<QueueStatus>(store.Run(CountStatus));
                _lastVersion = store.Run(Version);
                _nextHousekeeping = _time.GetUtcNow() + _housekeepingInterval;
                _watcher = new BackgroundLoop("queue watch", WatchPassAsync, _time, _logger);
                _files = WatchFiles(_watcher.Wake);
                _watcher.Start();
            }

            return _status;
        }
        finally
        {
            _gate.Release();
        }
    }

    // Called under the gate, so OnNext calls are serialized as Rx requires.
    private void PublishIfWatched(SqliteConnection connection) => _status?.OnNext(CountStatus(connection));

    // PRAGMA data_version changes when another connection (another process) commits to the file. A pass runs when
    // inotify says the database or its WAL changed, and at least every housekeeping interval: an idle shell wakes for
    // nothing else. Where the files cannot be watched, every ChangePollInterval.
    private async Task<TimeSpan> WatchPassAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen().Run(connection =>
            {
                var version = Version(connection);
                if (version != _lastVersion)
                {
                    _lastVersion = version;
                    _status?.OnNext(CountStatus(connection));
                }

                if (_time.GetUtcNow() >= _nextHousekeeping)
                {
                    _nextHousekeeping = _time.GetUtcNow() + _housekeepingInterval;
                    Housekeep(connection, _time.GetUtcNow());
                }

                return 0;
            });
        }
        catch (StoreException ex)
        {
            // Reported, retried at the next pass, never thrown into the host.
            _logger.LogWarning(ex, "Watching the queue database {Path} failed", _path);
        }
        finally
        {
            _gate.Release();
        }

        return _files is null ? _options.ChangePollInterval : _housekeepingInterval;
    }

    private FileSystemWatcher? WatchFiles(Action changed)
    {
        try
        {
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path) + "*") { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size };
            watcher.Changed += (_, _) => changed();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Cannot watch {Path} for changes ({Reason}); checking it every {Interval}", _path, ex.Message, _options.ChangePollInterval);
            return null;
        }
    }

    private static long Version(SqliteConnection connection) => connection.Scalar<long>("PRAGMA data_version;");

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _files?.Dispose();
        if (_watcher is { } watcher)
        {
            await watcher.DisposeAsync().ConfigureAwait(false);
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            _status?.OnCompleted();
            _status?.Dispose();
            _store?.Dispose();
            _store = null;
        }
        finally
        {
            _gate.Release();
        }

    }
}
