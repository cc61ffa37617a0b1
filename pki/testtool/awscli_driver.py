# Runs the AWS CLI's own entry point many times in one interpreter, so that a test
# binary pays Python's start-up and awscli's imports once instead of once a command.
#
# Started by testtool (awscli.go) as: <the interpreter of the aws script> <this file>
# <the aws script>, with stdin at /dev/null, requests on fd 3 and answers on fd 4, one
# JSON object a line each way:
#
#   request: {"argv": [...], "env": {"NAME": "value", ...}, "cwd": "...", "combined": false}
#   answer:  {"stdout": base64, "stderr": base64, "code": int}, or {"unsupported": why}
#            for a command only a new process can run faithfully, or {"error": why}
#
# For each request it does what a fresh `aws` process would have done: the environment is
# exactly the request's (plus the changes the aws script and awscli's import make to it),
# the working directory is the request's, sys.argv is the script's, file descriptors 1
# and 2 are files (not terminals, as the pipes of a subprocess are not), and the exit code
# is the one sys.exit would have given. The entry point builds a new botocore session
# every call. Afterwards the driver's environment and directory are put back.
import base64
import json
import os
import sys
import tempfile

AWS_SCRIPT = sys.argv[1]

# The script starts with the interpreter's directory of the script on sys.path, as a
# subprocess running the aws script would.
sys.path[0] = os.path.dirname(os.path.realpath(AWS_SCRIPT))

import awscli  # noqa: E402
import awscli.clidriver  # noqa: E402

START_ENV = dict(os.environ)
START_CWD = os.getcwd()
AWSCLI_DATA = os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), 'data')


def apply_env(env):
    os.environ.clear()
    os.environ.update(env)
    # What the aws script does before importing awscli.
    if os.environ.get('LC_CTYPE', '') == 'UTF-8':
        os.environ['LC_CTYPE'] = 'en_US.UTF-8'
    # What importing awscli does: its data directory goes last on AWS_DATA_PATH.
    paths = []
    if 'AWS_DATA_PATH' in os.environ:
        for p in os.environ['AWS_DATA_PATH'].split(os.pathsep):
            paths.append(os.path.expanduser(os.path.expandvars(p)))
    paths.append(AWSCLI_DATA)
    os.environ['AWS_DATA_PATH'] = os.pathsep.join(paths)


def exit_code(rc):
    # What sys.exit(rc) makes the process's exit status.
    if rc is None:
        return 0
    if isinstance(rc, int):
        return rc & 0xFF
    sys.stderr.write(str(rc) + '\n')
    return 1


class Unsupported(Exception):
    """A request this driver cannot run as a fresh process would."""


def check(req):
    # Python adds the user's site-packages at start-up, under the HOME it started with
    # (an empty one here); a command whose HOME has one would import from it.
    home = req['env'].get('HOME', '')
    site = os.path.join(home, '.local', 'lib', 'python%d.%d' % sys.version_info[:2], 'site-packages')
    if home and os.path.isdir(site) and 'PYTHONNOUSERSITE' not in req['env']:
        raise Unsupported('HOME has user site-packages (%s)' % site)


def run(req):
    check(req)
    out = tempfile.TemporaryFile()
    err = out if req.get('combined') else tempfile.TemporaryFile()
    saved = (os.dup(1), os.dup(2))
    saved_argv = sys.argv
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        apply_env(req['env'])
        os.chdir(req['cwd'])
        sys.argv = [AWS_SCRIPT] + req['argv']
        try:
            rc = awscli.clidriver.main()
        except SystemExit as e:
            rc = e.code
        code = exit_code(rc)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        sys.argv = saved_argv
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        os.chdir(START_CWD)
        os.environ.clear()
        os.environ.update(START_ENV)

    def read(f):
        f.seek(0)
        return base64.b64encode(f.read()).decode('ascii')

    ans = {'stdout': read(out), 'stderr': '' if err is out else read(err), 'code': code}
    out.close()
    if err is not out:
        err.close()
    return ans


def main():
    requests = os.fdopen(3, 'r', encoding='utf-8')
    answers = os.fdopen(4, 'w', encoding='utf-8')
    answers.write(json.dumps({'ready': True, 'version': awscli.__version__}) + '\n')
    answers.flush()
    for line in requests:
        try:
            ans = run(json.loads(line))
        except Unsupported as e:
            ans = {'unsupported': str(e)}
        except Exception as e:  # the driver's own failure, not the CLI's
            ans = {'error': '%s: %s' % (type(e).__name__, e)}
        answers.write(json.dumps(ans) + '\n')
        answers.flush()


if __name__ == '__main__':
    main()
