package studio

import "sync"

// AttachTestScene gives s a scene to arrange without a Program (which
// needs the encoder): the control API's /api/scene then decodes and
// applies bodies as it does with one. For the fuzz and flood tests.
func (s *Studio) AttachTestScene() { s.attachScene(&testScene{}) }

// testScene keeps the scene it is given; mu guards sc.
type testScene struct {
	mu sync.Mutex
	sc Scene
}

func (t *testScene) Scene() Scene {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sc
}

func (t *testScene) changeScene(change func(*Scene)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	change(&t.sc)
	return nil
}

func (t *testScene) followShow() {}
