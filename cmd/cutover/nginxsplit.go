package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/rollout/nginxsplit"
)

type nginxSplitFlags struct {
	cfg       nginxsplit.Config
	tokenFile string
	dir       string
}

func newNGINXSplitCmd(a *app) *cobra.Command {
	var f nginxSplitFlags
	cmd := &cobra.Command{
		Use:   "nginx-split --candidate HOST:PORT --legacy-upstream NAME --token-file FILE [--dir DIR]",
		Short: "Print the Lua module and includes with which the legacy NGINX splits traffic by itself",
		Long: `nginx-split makes the legacy NGINX/Lua send a sticky share of users to the
candidate by itself, with the same bucket hash as cutover's mirror (a user keeps
their side as the weight grows, and across a fleet of mirrors and NGINX alike).
The weight lives in a lua_shared_dict, set over an authenticated admin location
by 'cutover rollout run --backend nginx:URL': no reload, and a rollback takes
effect on the next request. It makes four files:

  cutover_split.lua            the module: put it on lua_package_path
  cutover-split-http.conf      include inside http {}
  cutover-split-server.conf    include inside the server {} (the admin location;
                               it holds the token: root-readable only)
  cutover-split-location.conf  include inside the proxying location, in place
                               of its proxy_pass

With --dir they are written there; without, printed one after the other.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNGINXSplit(a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.Candidate, "candidate", "", "the candidate's host:port")
	fl.StringVar(&f.cfg.LegacyUpstream, "legacy-upstream", "", "the upstream block legacy proxies to today")
	fl.StringVar(&f.cfg.CandidateUpstream, "candidate-upstream", "cutover_candidate", "name of the upstream block made for the candidate")
	fl.StringVar(&f.cfg.Key, "split-key", "ip", "what identifies a user, as the mirror's --split-key: ip, header:NAME or cookie:NAME")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the admin location's bearer token (at least 16 characters)")
	fl.StringVar(&f.cfg.Location, "location", "/cutover/split", "path of the admin location")
	fl.StringSliceVar(&f.cfg.Allow, "allow", nil, "addresses or CIDRs allowed to the admin location besides the token (default: the token alone)")
	fl.StringVar(&f.cfg.LuaDir, "lua-dir", "/etc/nginx/lua", "where the module goes, for the lua_package_path hint")
	fl.StringVar(&f.dir, "dir", "", "write the files into this directory instead of printing them")
	return cmd
}

func runNGINXSplit(a *app, f nginxSplitFlags) error {
	if f.tokenFile == "" {
		return errors.New("--token-file is required: the admin location sets the weight of live traffic")
	}
	var err error
	if f.cfg.Token, err = readToken("--token-file", f.tokenFile); err != nil {
		return err
	}
	files, err := nginxsplit.Render(f.cfg)
	if err != nil {
		return err
	}
	if f.dir == "" {
		for _, file := range files {
			fmt.Fprintf(a.stdout, "# ==> %s <==\n%s\n", file.Name, file.Data)
		}
		return nil
	}
	paths, err := nginxsplit.Write(f.dir, files)
	if err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	for _, file := range files {
		fmt.Fprintln(a.stdout, paths[file.Name])
	}
	return nil
}
