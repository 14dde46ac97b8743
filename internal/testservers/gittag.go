package testservers

import "path/filepath"

// Tag creates (or moves, with force) a tag in the named bare repository pointing at ref.
// A non-empty message makes an annotated tag, an empty one a lightweight tag.
func (s *GitServer) Tag(name, tag, ref, message string) error {
	args := []string{"tag", "-f"}
	if message != "" {
		args = append(args, "-a", "-m", message)
	}
	args = append(args, tag, ref)
	_, err := Git(filepath.Join(s.Root, name+".git"), args...)
	return err
}

// SetHead points the named bare repository's HEAD (its default branch) at branch.
func (s *GitServer) SetHead(name, branch string) error {
	_, err := Git(filepath.Join(s.Root, name+".git"), "symbolic-ref", "HEAD", "refs/heads/"+branch)
	return err
}
